// JSON / JSON(...) [SerializationObject.cpp]: state prefix UInt64 version —
// 0 V1, 1 STRING, 2 V2, 3 FLATTENED. STRING (output_format_native_write_json_as_string=1)
// is a String column of JSON text per row. The object serializations (typed paths,
// dynamic paths, shared data) are decoded by `objectSerialization` when registered.
import { UnsupportedTypeError } from '../errors.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError } from './column.js';
import { type StringData, readStrings, writeStrings, stringsFromValues, stringValue } from './string.js';
import { parseJsonExact, stringifyJsonExact } from './json-text.js';
import { decodeUtf8 } from '../io/utf8.js';

export const JSON_STRING_SERIALIZATION = 1;

export interface JsonStringData {
  version: 1;
  strings: StringData;
}

export function makeJsonStringCodec(node: TypeNode, typeName: string): Codec<JsonStringData> {
  const parse = (d: JsonStringData, i: number): unknown => {
    const s = d.strings;
    const text = decodeUtf8(s.buf, s.starts[i]!, s.ends[i]!);
    return parseJsonExact(text);
  };
  return {
    typeName,
    node,
    readPrefix(c) {
      const version = c.u64n('JSON serialization version');
      if (version !== JSON_STRING_SERIALIZATION)
        throw new UnsupportedTypeError(`${typeName}: object serialization version ${version} is not supported by this codec`);
      return version;
    },
    decode: (c, rows, _p, ctx) => ({ version: 1, strings: readStrings(c, rows, ctx) }),
    length: (d) => d.strings.rows,
    get: (d, i, o) => (o.strings === 'bytes' ? stringValue(d.strings, i, o) : parse(d, i)),
    toArray(d, o) {
      const out = new Array<unknown>(d.strings.rows);
      for (let i = 0; i < out.length; i++) out[i] = o.strings === 'bytes' ? stringValue(d.strings, i, o) : parse(d, i);
      return out;
    },
    fromValues(values) {
      const texts = new Array<string>(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i];
        if (typeof v === 'string') texts[i] = v;
        else if (v !== null && typeof v === 'object' && !Array.isArray(v)) texts[i] = stringifyJsonExact(v);
        else throw new RowValueError(i, v, 'not an object or JSON text');
      }
      return { version: 1, strings: stringsFromValues(texts) };
    },
    writePrefix(w) {
      w.u64(JSON_STRING_SERIALIZATION);
    },
    encode: (w, d) => writeStrings(w, d.strings),
    defaultValue: () => ({}),
  };
}

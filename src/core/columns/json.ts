// JSON / JSON(...) [SerializationObject.cpp]: state prefix UInt64 version —
// 0 V1, 1 STRING, 2 V2, 3 FLATTENED. STRING (output_format_native_write_json_as_string=1)
// is a String column of JSON text per row. The object serializations (typed paths,
// dynamic paths, shared data) live in json-object.ts. Decoded data remembers which form
// it came in; data made from JS values uses the object form (V1 below protocol 54473
// and in FORMAT Native, V2 from it).
import type { TypeNode } from '../types/type-node.js';
import { type AnyCodec, type Codec, RowValueError } from './column.js';
import { type StringData, readStrings, writeStrings, stringsFromValues, stringValue } from './string.js';
import { parseJsonExact, stringifyJsonExact } from './json-text.js';
import { decodeUtf8 } from '../io/utf8.js';
import {
  type JsonObjectData,
  type JsonSpec,
  checkObjectVersion,
  jsonSpec,
  objectFromValues,
  objectValue,
  readObjectBody,
  readObjectPrefix,
  writeObjectBody,
  writeObjectPrefix,
} from './json-object.js';

export const JSON_STRING_SERIALIZATION = 1;

export interface JsonStringData {
  kind: 'string';
  version: 1;
  strings: StringData;
}

export type JsonData = JsonStringData | JsonObjectData;

/** The codec of JSON columns: decodes every serialization version, encodes objects. */
export function makeJsonCodec(node: TypeNode, typeName: string, build: (n: TypeNode) => AnyCodec): Codec<JsonData> {
  const spec: JsonSpec = jsonSpec(node, typeName, build);
  const parse = (d: JsonStringData, i: number): unknown => {
    const s = d.strings;
    return parseJsonExact(decodeUtf8(s.buf, s.starts[i]!, s.ends[i]!));
  };
  const rowValue = (d: JsonData, i: number, o: Parameters<Codec['get']>[2]): unknown => {
    if (d.kind === 'string') return o.strings === 'bytes' ? stringValue(d.strings, i, o) : parse(d, i);
    return objectValue(d, i, o, spec);
  };
  return {
    typeName,
    node,
    readPrefix(c, ctx) {
      const version = c.u64n('JSON serialization version');
      if (version === JSON_STRING_SERIALIZATION) return { string: true };
      checkObjectVersion(version, typeName);
      return { string: false, object: readObjectPrefix(c, version, spec, ctx) };
    },
    decode(c, rows, prefix, ctx) {
      const p = prefix as { string: boolean; object?: Parameters<typeof readObjectBody>[2] };
      if (p.string) return { kind: 'string', version: 1, strings: readStrings(c, rows, ctx) };
      return readObjectBody(c, rows, p.object!, spec, ctx);
    },
    length: (d) => (d.kind === 'string' ? d.strings.rows : d.rows),
    get: rowValue,
    toArray(d, o) {
      const n = d.kind === 'string' ? d.strings.rows : d.rows;
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = rowValue(d, i, o);
      return out;
    },
    fromValues: (values) => objectFromValues(values, spec),
    writePrefix(w, d, ctx) {
      if (d.kind === 'string') w.u64(JSON_STRING_SERIALIZATION);
      else writeObjectPrefix(w, d, spec, ctx.revision);
    },
    encode(w, d, ctx) {
      if (d.kind === 'string') writeStrings(w, d.strings);
      else writeObjectBody(w, d, spec, ctx.revision);
    },
    defaultValue: () => ({}),
  };
}

/** JSON values as JSON text (the STRING serialization), for callers that want it explicitly. */
export function jsonStringsFromValues(values: ArrayLike<unknown>): JsonStringData {
  const texts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'string') texts[i] = v;
    else if (v !== null && typeof v === 'object' && !Array.isArray(v)) texts[i] = stringifyJsonExact(v);
    else throw new RowValueError(i, v, 'not an object or JSON text');
  }
  return { kind: 'string', version: 1, strings: stringsFromValues(texts) };
}

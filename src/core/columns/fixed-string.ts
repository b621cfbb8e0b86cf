// FixedString(N): N bytes per row, NUL-padded. Values keep the padding.
import { decodeUtf8, encodeUtf8 } from '../io/utf8.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { TypeParseError } from '../errors.js';
import { Limits } from '../limits.js';
import { type Codec, type ValueOptions, RowValueError, noPrefix, mapArray } from './column.js';
import { type FixedData, writeFixed, fixedBody } from './fixed.js';

export function makeFixedStringCodec(node: TypeNode, n: number): Codec<FixedData> {
  if (!Number.isInteger(n) || n < 1 || n > Limits.maxFixedStringBytes)
    throw new TypeParseError(`FixedString size ${n} is outside 1..${Limits.maxFixedStringBytes} in 'FixedString(${n})'`);
  const value = (d: FixedData, i: number, o: ValueOptions) =>
    o.strings === 'bytes' ? d.bytes.subarray(i * n, i * n + n) : decodeUtf8(d.bytes, i * n, i * n + n);
  return {
    typeName: `FixedString(${n})`,
    node,
    readPrefix: noPrefix,
    ...fixedBody(n),
    length: (d) => d.rows,
    get: value,
    toArray(d, o) {
      return mapArray(d.rows, (i) => value(d, i, o));
    },
    fromValues(values) {
      const rows = values.length;
      const bytes = new Uint8Array(rows * n);
      for (let i = 0; i < rows; i++) {
        const v = values[i];
        const b = typeof v === 'string' ? encodeUtf8(v) : v instanceof Uint8Array ? v : undefined;
        if (!b) throw new RowValueError(i, v, 'not a string or Uint8Array');
        if (b.length > n) throw new RowValueError(i, v, `${b.length} bytes do not fit FixedString(${n})`);
        bytes.set(b, i * n);
      }
      return { bytes, rows };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => new Uint8Array(n),
  };
}

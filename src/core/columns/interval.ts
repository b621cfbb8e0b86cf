// Interval<Kind>: Int64 counts of the unit; value = number, bigint beyond 2^53.
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';
import { toBigIntValue } from './ints.js';

export const INTERVAL_KINDS = [
  'Nanosecond',
  'Microsecond',
  'Millisecond',
  'Second',
  'Minute',
  'Hour',
  'Day',
  'Week',
  'Month',
  'Quarter',
  'Year',
] as const;

const MAX = BigInt(Number.MAX_SAFE_INTEGER);

function intervalValue(v: bigint): number | bigint {
  return v > MAX || v < -MAX ? v : Number(v);
}

export function makeIntervalCodec(node: TypeNode): Codec<FixedData> {
  const i64 = BigInt64Array as unknown as TypedCtor;
  return {
    typeName: node.name,
    node,
    readPrefix: noPrefix,
    ...fixedBody(8),
    length: (d) => d.rows,
    get: (d, i) => intervalValue(typedOf<BigInt64Array>(d, i64)[i]!),
    toArray: (d) => Array.from(typedOf<BigInt64Array>(d, i64), intervalValue),
    fromValues(values) {
      const n = values.length;
      const t = new BigInt64Array(n);
      for (let i = 0; i < n; i++) {
        const b = toBigIntValue(values[i]);
        if (b === undefined || b < -(1n << 63n) || b >= 1n << 63n) throw new RowValueError(i, values[i], 'not an Int64 interval count');
        t[i] = b;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => 0,
  };
}

// QBit(T, N) [SerializationQBit.cpp]: a Tuple of B bit planes (B = 16/32/64 for
// BFloat16/Float32/Float64), each FixedString(ceil(N/8)); plane 0 holds the most
// significant bit of every element. Within a plane row, read as a big-endian integer,
// element j is bit j (byte nbytes-1-j/8, bit j%8). Value: Float32Array (BFloat16,
// Float32) or Float64Array of N elements; inserts take any array-like of numbers.
import { TypeParseError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix, mapArray } from './column.js';
import { toNumberValue } from './floats.js';

export interface QBitData {
  rows: number;
  /** B planes of rows × nbytes bytes. */
  planes: Uint8Array[];
}

export function makeQBitCodec(node: TypeNode, element: string, n: number): Codec<QBitData> {
  const bits = element === 'BFloat16' ? 16 : element === 'Float32' ? 32 : element === 'Float64' ? 64 : 0;
  if (!bits) throw new TypeParseError(`QBit element type must be BFloat16, Float32 or Float64, not ${element}`);
  if (!Number.isInteger(n) || n < 1 || n > 1 << 24) throw new TypeParseError(`QBit dimension ${n} is out of range`);
  const nb = Math.ceil(n / 8);
  const typeName = `QBit(${element}, ${n})`;
  const rowValue = (d: QBitData, i: number): Float32Array | Float64Array => {
    const lo = new Uint32Array(n);
    const hi = bits === 64 ? new Uint32Array(n) : undefined;
    const base = i * nb;
    for (let p = 0; p < bits; p++) {
      const bit = bits - 1 - p; // bit index inside the element's representation
      const plane = d.planes[p]!;
      for (let j = 0; j < n; j++) {
        if ((plane[base + nb - 1 - (j >> 3)]! >> (j & 7)) & 1) {
          if (bit >= 32) hi![j] = (hi![j]! | (1 << (bit - 32))) >>> 0;
          else lo[j] = (lo[j]! | (1 << bit)) >>> 0;
        }
      }
    }
    if (bits === 64) {
      const out = new Float64Array(n);
      const u = new Uint32Array(out.buffer);
      for (let j = 0; j < n; j++) {
        u[2 * j] = lo[j]!;
        u[2 * j + 1] = hi![j]!;
      }
      return out;
    }
    const out = new Float32Array(n);
    const u = new Uint32Array(out.buffer);
    for (let j = 0; j < n; j++) u[j] = bits === 16 ? (lo[j]! << 16) >>> 0 : lo[j]!;
    return out;
  };
  return {
    typeName,
    node,
    readPrefix: noPrefix,
    decode(c: Cursor, rows) {
      c.needItems(rows, nb * bits);
      const planes: Uint8Array[] = [];
      for (let p = 0; p < bits; p++) planes.push(c.bytes(rows * nb));
      return { rows, planes };
    },
    length: (d) => d.rows,
    get: rowValue,
    toArray(d) {
      return mapArray(d.rows, (i) => rowValue(d, i));
    },
    fromValues(values) {
      const rows = values.length;
      const planes = Array.from({ length: bits }, () => new Uint8Array(rows * nb));
      const f64 = new Float64Array(1);
      const f32 = new Float32Array(1);
      const u64 = new Uint32Array(f64.buffer);
      const u32 = new Uint32Array(f32.buffer);
      for (let i = 0; i < rows; i++) {
        const v = values[i] as ArrayLike<unknown> | undefined;
        if (v === null || typeof v !== 'object' || typeof v.length !== 'number') throw new RowValueError(i, values[i], `not an array of ${n} numbers`);
        if (v.length !== n) throw new RowValueError(i, values[i], `has ${v.length} elements, ${typeName} needs ${n}`);
        for (let j = 0; j < n; j++) {
          const x = typeof v[j] === 'number' ? (v[j] as number) : toNumberValue(v[j]);
          if (x === undefined) throw new RowValueError(i, values[i], `element ${j} is not a number`);
          let lo: number;
          let hi = 0;
          if (bits === 64) {
            f64[0] = x;
            lo = u64[0]!;
            hi = u64[1]!;
          } else {
            f32[0] = x;
            lo = bits === 16 ? u32[0]! >>> 16 : u32[0]!;
          }
          const byte = i * nb + nb - 1 - (j >> 3);
          const mask = 1 << (j & 7);
          for (let p = 0; p < bits; p++) {
            const bit = bits - 1 - p;
            const set = bit >= 32 ? (hi >>> (bit - 32)) & 1 : (lo >>> bit) & 1;
            if (set) planes[p]![byte]! |= mask;
          }
        }
      }
      return { rows, planes };
    },
    writePrefix: noPrefix,
    encode(w: Writer, d) {
      for (const p of d.planes) w.raw(p, false);
    },
    defaultValue: () => (bits === 64 ? new Float64Array(n) : new Float32Array(n)),
  };
}

// Float32, Float64 (IEEE 754 LE) and BFloat16 (the upper 16 bits of a Float32).
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedFromTyped, fixedBody } from './fixed.js';

export function toNumberValue(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') return undefined;
    if (/^[+-]?(inf|infinity)$/i.test(s)) return s.startsWith('-') ? -Infinity : Infinity;
    if (/^[+-]?nan$/i.test(s)) return NaN;
    const n = Number(s);
    return Number.isNaN(n) ? undefined : n;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  return undefined;
}

export function makeFloatCodec(node: TypeNode): Codec<FixedData> {
  const is32 = node.name === 'Float32';
  const ctor = (is32 ? Float32Array : Float64Array) as unknown as TypedCtor;
  const width = is32 ? 4 : 8;
  return {
    typeName: node.name,
    node,
    readPrefix: noPrefix,
    ...fixedBody(width),
    length: (d) => d.rows,
    get: (d, i) => typedOf<Float64Array>(d, ctor)[i],
    reader(d) {
      const t = typedOf<Float64Array>(d, ctor);
      return (i) => t[i];
    },
    toArray: (d) => typedOf<Float64Array>(d, ctor),
    fromValues(values) {
      if (values instanceof (is32 ? Float32Array : Float64Array)) return fixedFromTyped(values as Float64Array, values.length);
      const n = values.length;
      const t = is32 ? new Float32Array(n) : new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === 'number' ? v : toNumberValue(v);
        if (x === undefined) throw new RowValueError(i, v, 'not a number');
        t[i] = x;
      }
      return fixedFromTyped(t, n);
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => 0,
  };
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

function bf16ToNumber(bits: number): number {
  u32[0] = bits << 16;
  return f32[0]!;
}

export function makeBFloat16Codec(node: TypeNode): Codec<FixedData> {
  const u16 = Uint16Array as unknown as TypedCtor;
  return {
    typeName: 'BFloat16',
    node,
    readPrefix: noPrefix,
    ...fixedBody(2),
    length: (d) => d.rows,
    get: (d, i) => bf16ToNumber(typedOf<Uint16Array>(d, u16)[i]!),
    toArray(d) {
      const src = typedOf<Uint16Array>(d, u16);
      const out = new Float32Array(d.rows);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < d.rows; i++) bits[i] = src[i]! << 16;
      return out;
    },
    fromValues(values) {
      const n = values.length;
      const t = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === 'number' ? v : toNumberValue(v);
        if (x === undefined) throw new RowValueError(i, v, 'not a number');
        f32[0] = x;
        // ClickHouse converts Float32 → BFloat16 by truncating the low 16 bits.
        t[i] = u32[0]! >>> 16;
      }
      return fixedFromTyped(t, n);
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => 0,
  };
}

export function makeBoolCodec(node: TypeNode): Codec<FixedData> {
  return {
    typeName: 'Bool',
    node,
    readPrefix: noPrefix,
    ...fixedBody(1),
    length: (d) => d.rows,
    get: (d, i) => d.bytes[i] !== 0,
    toArray: (d) => Array.from(d.bytes, (b) => b !== 0),
    fromValues(values) {
      const n = values.length;
      const t = new Uint8Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v === true || v === 1 || v === 1n || v === 'true' || v === '1') t[i] = 1;
        else if (v === false || v === 0 || v === 0n || v === 'false' || v === '0') t[i] = 0;
        else throw new RowValueError(i, v, 'not a boolean');
      }
      return { bytes: t, rows: n };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => false,
  };
}

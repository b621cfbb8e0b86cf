// Int8..Int256, UInt8..UInt256: little-endian two's complement, packed.
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, type ValueOptions, RowValueError, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedFromTyped, fixedBody } from './fixed.js';

interface IntSpec {
  name: string;
  width: number;
  signed: boolean;
  ctor?: TypedCtor; // absent for 128/256-bit
}

const SPECS: Record<string, IntSpec> = {
  Int8: { name: 'Int8', width: 1, signed: true, ctor: Int8Array as unknown as TypedCtor },
  Int16: { name: 'Int16', width: 2, signed: true, ctor: Int16Array as unknown as TypedCtor },
  Int32: { name: 'Int32', width: 4, signed: true, ctor: Int32Array as unknown as TypedCtor },
  Int64: { name: 'Int64', width: 8, signed: true, ctor: BigInt64Array as unknown as TypedCtor },
  Int128: { name: 'Int128', width: 16, signed: true },
  Int256: { name: 'Int256', width: 32, signed: true },
  UInt8: { name: 'UInt8', width: 1, signed: false, ctor: Uint8Array as unknown as TypedCtor },
  UInt16: { name: 'UInt16', width: 2, signed: false, ctor: Uint16Array as unknown as TypedCtor },
  UInt32: { name: 'UInt32', width: 4, signed: false, ctor: Uint32Array as unknown as TypedCtor },
  UInt64: { name: 'UInt64', width: 8, signed: false, ctor: BigUint64Array as unknown as TypedCtor },
  UInt128: { name: 'UInt128', width: 16, signed: false },
  UInt256: { name: 'UInt256', width: 32, signed: false },
};

export function isIntFamily(name: string): boolean {
  return Object.hasOwn(SPECS, name);
}

/** Read a little-endian integer of `width` bytes at off as a bigint. */
export function readBigLE(bytes: Uint8Array, off: number, width: number, signed: boolean): bigint {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + off, width);
  let v = 0n;
  for (let i = width - 8; i >= 0; i -= 8) v = (v << 64n) | dv.getBigUint64(i, true);
  return signed ? BigInt.asIntN(width * 8, v) : v;
}

export function writeBigLE(dst: Uint8Array, off: number, width: number, v: bigint): void {
  const dv = new DataView(dst.buffer, dst.byteOffset + off, width);
  let x = BigInt.asUintN(width * 8, v);
  for (let i = 0; i < width; i += 8) {
    dv.setBigUint64(i, x & 0xffffffffffffffffn, true);
    x >>= 64n;
  }
}

/**
 * Parse a JS value as an integer for a column; undefined when it is not an integer. Strings are
 * strict: an optional sign and decimal digits, no spaces; `0x` hex only where `hex` (the 128/256-bit types).
 */
export function toBigIntValue(v: unknown, hex = false): bigint | undefined {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : undefined;
  if (typeof v === 'boolean') return v ? 1n : 0n;
  if (typeof v === 'string') {
    if (/^[+-]?\d+$/.test(v)) return BigInt(v);
    if (hex && /^0x[0-9a-f]+$/i.test(v)) return BigInt(v);
  }
  return undefined;
}

function range(spec: IntSpec): [bigint, bigint] {
  const bits = BigInt(spec.width * 8);
  return spec.signed ? [-(1n << (bits - 1n)), (1n << (bits - 1n)) - 1n] : [0n, (1n << bits) - 1n];
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A 64-bit integer in the form `int64` asks for; 'number' stays a bigint beyond 2^53 (never rounded). */
export function int64Value(v: bigint, opts: ValueOptions): unknown {
  const m = opts.int64;
  if (m === undefined || m === 'bigint') return v;
  if (m === 'number') return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
  return v.toString();
}

export function makeIntCodec(node: TypeNode): Codec<FixedData> {
  const spec = SPECS[node.name]!;
  const { width, signed, ctor } = spec;
  const [min, max] = range(spec);
  const minN = Number(min);
  const maxN = Number(max);
  const small = width <= 4;

  const get = small
    ? (d: FixedData, i: number) => (typedOf<ArrayLike<number>>(d, ctor!))[i]
    : width === 8
      ? (d: FixedData, i: number, o: ValueOptions) => int64Value(typedOf<ArrayLike<bigint>>(d, ctor!)[i]!, o)
      : (d: FixedData, i: number) => readBigLE(d.bytes, i * width, width, signed);

  return {
    typeName: spec.name,
    node,
    readPrefix: noPrefix,
    ...fixedBody(width),
    length: (d) => d.rows,
    get,
    reader(d, o) {
      if (!ctor) return (i) => readBigLE(d.bytes, i * width, width, signed);
      const t = typedOf<ArrayLike<number | bigint>>(d, ctor);
      if (width === 8 && o.int64 && o.int64 !== 'bigint') return (i) => int64Value(t[i] as bigint, o);
      return (i) => t[i];
    },
    toArray(d, o) {
      if (ctor) {
        const t = typedOf<ArrayLike<number | bigint>>(d, ctor);
        if (width === 8 && o.int64 && o.int64 !== 'bigint') return Array.from(t as ArrayLike<bigint>, (x) => int64Value(x, o));
        return t;
      }
      const out = new Array<bigint>(d.rows);
      for (let i = 0; i < d.rows; i++) out[i] = readBigLE(d.bytes, i * width, width, signed);
      return out;
    },
    fromValues(values) {
      const n = values.length;
      if (ctor && values instanceof (ctor as unknown as Function)) return fixedFromTyped(values as unknown as ArrayBufferView, n);
      const bytes = new Uint8Array(n * width);
      if (small) {
        const t = new (ctor as unknown as new (b: ArrayBuffer) => Int32Array)(bytes.buffer);
        for (let i = 0; i < n; i++) {
          const v = values[i];
          if (typeof v === 'number' && Number.isInteger(v) && v >= minN && v <= maxN) {
            t[i] = v;
            continue;
          }
          const b = toBigIntValue(v);
          if (b === undefined) throw new RowValueError(i, v, `not an integer`);
          if (b < min || b > max) throw new RowValueError(i, v, `out of range for ${spec.name}`);
          t[i] = Number(b);
        }
        return { bytes, rows: n };
      }
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let b: bigint | undefined;
        if (typeof v === 'number' && Number.isSafeInteger(v)) b = BigInt(v);
        else b = toBigIntValue(v, width > 8);
        if (b === undefined) throw new RowValueError(i, v, `not an integer`);
        if (b < min || b > max) throw new RowValueError(i, v, `out of range for ${spec.name}`);
        if (width === 8) dv.setBigUint64(i * 8, BigInt.asUintN(64, b), true);
        else writeBigLE(bytes, i * width, width, b);
      }
      return { bytes, rows: n };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d: FixedData) => writeFixed(w, d),
    defaultValue: () => (small ? 0 : 0n),
  };
}

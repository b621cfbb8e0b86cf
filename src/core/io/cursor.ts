import { DecodeError, LimitError, NEED_MORE } from '../errors.js';
import { Limits } from '../limits.js';
import { decodeUtf8 } from './utf8.js';

const TWO_32 = 4294967296;

/**
 * A read position over a byte buffer. Running out of bytes throws the NEED_MORE
 * sentinel after recording in `wantPos` the absolute position that was needed,
 * so a resumable reader can wait until that many bytes have arrived.
 * Invariant: `buf` is never mutated by the reader; decoded views may alias it.
 */
export class Cursor {
  buf: Uint8Array;
  view: DataView;
  pos: number;
  end: number;
  /** Set when NEED_MORE is thrown: the position the read wanted to reach. */
  wantPos = 0;
  /**
   * Set by fixed-width readers before they wait for their body: the position
   * where that body starts, which a resumable reader may place at an 8-byte
   * boundary so the body becomes a zero-copy TypedArray view. -1 = none.
   */
  alignPos = -1;
  /**
   * Optionally set with NEED_MORE: where the unfinished value is expected to end
   * (an estimate ≥ wantPos, e.g. a String column's end from its average row), so
   * a resumable reader can make room for it in one allocation. -1 = none.
   */
  expectPos = -1;

  constructor(buf: Uint8Array, pos = 0, end = buf.length) {
    this.buf = buf;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.pos = pos;
    this.end = end;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Ensure n bytes are readable at pos, or throw NEED_MORE. */
  need(n: number): void {
    if (this.pos + n > this.end) {
      this.wantPos = this.pos + n;
      throw NEED_MORE;
    }
  }

  u8(): number {
    if (this.pos >= this.end) this.need(1);
    return this.buf[this.pos++]!;
  }
  i8(): number {
    return (this.u8() << 24) >> 24;
  }
  bool(): boolean {
    return this.u8() !== 0;
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  u64(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** UInt64 as a number; throws if it exceeds 2^53 - 1 (used for sizes and counts). */
  u64n(what = 'UInt64 value'): number {
    this.need(8);
    const lo = this.view.getUint32(this.pos, true);
    const hi = this.view.getUint32(this.pos + 4, true);
    if (hi > 0x1fffff) throw new LimitError(`${what} ${(BigInt(hi) << 32n) | BigInt(lo)} is too large`);
    this.pos += 8;
    return hi * TWO_32 + lo;
  }
  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /**
   * Unsigned LEB128 (ClickHouse readVarUInt), at most 10 bytes, as a number.
   * Values above 2^53 - 1 throw: use varuint64() where the full range matters.
   */
  varuint(what = 'varuint'): number {
    const buf = this.buf;
    let p = this.pos;
    if (p < this.end) {
      const b = buf[p]!;
      if (b < 0x80) {
        this.pos = p + 1;
        return b;
      }
    }
    let result = 0;
    let mul = 1;
    for (let i = 0; i < Limits.maxVarUIntBytes; i++) {
      if (p >= this.end) {
        this.wantPos = p + 1;
        throw NEED_MORE;
      }
      const b = buf[p++]!;
      result += (b & 0x7f) * mul;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) throw new LimitError(`${what} exceeds 2^53-1`);
        this.pos = p;
        return result;
      }
      mul *= 128;
    }
    throw new DecodeError(`${what} is longer than ${Limits.maxVarUIntBytes} bytes`);
  }

  /** Unsigned LEB128 over the full 64-bit range (10-byte cap; bits beyond 64 rejected). */
  varuint64(what = 'varuint'): bigint {
    let p = this.pos;
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < Limits.maxVarUIntBytes; i++) {
      if (p >= this.end) {
        this.wantPos = p + 1;
        throw NEED_MORE;
      }
      const b = this.buf[p++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) {
        if (result > 0xffffffffffffffffn) throw new DecodeError(`${what} exceeds 64 bits`);
        this.pos = p;
        return result;
      }
      shift += 7n;
    }
    throw new DecodeError(`${what} is longer than ${Limits.maxVarUIntBytes} bytes`);
  }

  /** n bytes as a zero-copy view. */
  bytes(n: number): Uint8Array {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** varuint length + bytes, as a zero-copy view. */
  stringBytes(what = 'string'): Uint8Array {
    const start = this.pos;
    const n = this.varuint(what);
    if (n > Limits.maxStringBytes) throw new LimitError(`${what} length ${n} exceeds ${Limits.maxStringBytes}`);
    if (this.pos + n > this.end) {
      this.wantPos = this.pos + n;
      this.pos = start;
      throw NEED_MORE;
    }
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }

  /** varuint length + bytes, decoded as UTF-8. */
  string(what = 'string'): string {
    const b = this.stringBytes(what);
    return decodeUtf8(b, 0, b.length);
  }

  /** Throw NEED_MORE unless n fixed-size items of `width` bytes fit; returns total bytes. */
  needItems(n: number, width: number): number {
    const total = n * width;
    if (this.pos + total > this.end) {
      this.wantPos = this.pos + total;
      throw NEED_MORE;
    }
    return total;
  }
}

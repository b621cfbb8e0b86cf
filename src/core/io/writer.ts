import { encodeUtf8Into, maxUtf8Length } from './utf8.js';

/** Views at or above this size are chained, not copied, by Writer.raw(). */
const CHAIN_THRESHOLD = 16 * 1024;

/**
 * A growable little-endian byte writer. Large caller-owned slabs passed to
 * raw(…, false) are chained without copying: the result is a list of parts
 * (finish()) or one contiguous copy (toBytes()). Callers must not mutate a
 * chained slab until the writer's output has been consumed.
 */
export class Writer {
  private buf: Uint8Array;
  private view: DataView;
  /** Write position within buf; buf[0..pos) is pending (not yet moved into parts). */
  pos = 0;
  private parts: Uint8Array[] = [];
  private partsLength = 0;

  constructor(initialSize = 4096) {
    this.buf = new Uint8Array(initialSize);
    this.view = new DataView(this.buf.buffer);
  }

  /** Total bytes written so far. */
  get length(): number {
    return this.partsLength + this.pos;
  }

  /** Make room for n more bytes in the current slab. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    // Double, or exactly what is asked for when that is more (a bulk encoder reserving a column).
    const size = Math.max(this.buf.length * 2, 4096, this.pos + n);
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.pos++] = v;
  }
  i8(v: number): void {
    this.u8(v & 0xff);
  }
  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
  }
  i16(v: number): void {
    this.ensure(2);
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.pos, v, true);
    this.pos += 4;
  }
  u64(v: bigint | number): void {
    this.ensure(8);
    if (typeof v === 'number') {
      this.view.setUint32(this.pos, v >>> 0, true);
      this.view.setUint32(this.pos + 4, Math.floor(v / 4294967296), true);
    } else this.view.setBigUint64(this.pos, BigInt.asUintN(64, v), true);
    this.pos += 8;
  }
  i64(v: bigint | number): void {
    this.ensure(8);
    this.view.setBigInt64(this.pos, BigInt.asIntN(64, BigInt(v)), true);
    this.pos += 8;
  }
  f32(v: number): void {
    this.ensure(4);
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /** Unsigned LEB128 of a non-negative safe integer. */
  varuint(v: number): void {
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    while (v >= 0x80) {
      buf[p++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** Unsigned LEB128 over the full 64-bit range. */
  varuint64(v: bigint): void {
    this.ensure(10);
    let x = BigInt.asUintN(64, v);
    while (x >= 0x80n) {
      this.buf[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
    }
    this.buf[this.pos++] = Number(x);
  }

  /** Append bytes. With copy = false, large slabs are chained without copying. */
  raw(bytes: Uint8Array, copy = true): void {
    if (!copy && bytes.length >= CHAIN_THRESHOLD) {
      this.flushPending();
      this.parts.push(bytes);
      this.partsLength += bytes.length;
      return;
    }
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /** varuint length + bytes. */
  stringBytes(bytes: Uint8Array): void {
    this.varuint(bytes.length);
    this.raw(bytes);
  }

  /** varuint length + UTF-8 of s. */
  string(s: string): void {
    const max = maxUtf8Length(s);
    if (max < 128) {
      // Length fits in one varuint byte whatever the encoding turns out to be.
      this.ensure(1 + max);
      const n = encodeUtf8Into(s, this.buf, this.pos + 1);
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    this.ensure(10 + max);
    // Encode after a 10-byte gap, then move into place behind the real varuint.
    const tmpAt = this.pos + 10;
    const n = encodeUtf8Into(s, this.buf, tmpAt);
    this.varuint(n);
    this.buf.copyWithin(this.pos, tmpAt, tmpAt + n);
    this.pos += n;
  }

  /** Reserve n bytes and return their offset in the current slab (for patching). */
  reserve(n: number): { buf: Uint8Array; view: DataView; offset: number } {
    this.ensure(n);
    const offset = this.pos;
    this.pos += n;
    return { buf: this.buf, view: this.view, offset };
  }

  /** Direct access for bulk encoders: ensure(n) then write into slab() at pos. */
  slab(): Uint8Array {
    return this.buf;
  }
  slabView(): DataView {
    return this.view;
  }

  private flushPending(): void {
    if (this.pos > 0) {
      const part = this.buf.subarray(0, this.pos);
      this.parts.push(part);
      this.partsLength += part.length;
      // The slab now backs a part; never write into it again.
      this.buf = new Uint8Array(Math.max(4096, this.buf.length - this.pos));
      this.view = new DataView(this.buf.buffer);
      this.pos = 0;
    }
  }

  /** The written bytes as a list of parts (no copy), and reset the writer. */
  finish(): Uint8Array[] {
    this.flushPending();
    const parts = this.parts;
    this.parts = [];
    this.partsLength = 0;
    return parts;
  }

  /** The written bytes as one contiguous array, and reset the writer. */
  toBytes(): Uint8Array {
    // Most of a large slab is used: hand it over instead of copying it.
    if (this.parts.length === 0 && this.pos >= 1 << 20 && this.pos * 4 >= this.buf.length * 3) return this.detach();
    if (this.parts.length === 0) {
      const out = this.buf.slice(0, this.pos);
      this.pos = 0;
      return out;
    }
    return concatBytes(this.finish());
  }

  /**
   * The written bytes as one contiguous array without a copy when they lie in one slab (which
   * the writer then leaves to the caller), and reset the writer.
   */
  detach(): Uint8Array {
    if (this.parts.length) return concatBytes(this.finish());
    const out = this.buf.subarray(0, this.pos);
    this.buf = new Uint8Array(0);
    this.view = new DataView(this.buf.buffer);
    this.pos = 0;
    return out;
  }
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

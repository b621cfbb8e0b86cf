// String: per row `varuint length + bytes`. Decoding only records where each
// value lies (lazy UTF-8); the JS string is made on access.
import { NEED_MORE } from '../errors.js';
import { LimitError, DecodeError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import { decodeUtf8, encodeUtf8Into } from '../io/utf8.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { Limits } from '../limits.js';
import { type Codec, type DecodeContext, type ValueOptions, type ValueReader, RowValueError, noPrefix } from './column.js';

export interface StringData {
  /** Bytes the offsets point into. */
  buf: Uint8Array;
  starts: Uint32Array;
  ends: Uint32Array;
  rows: number;
  /** The exact wire body, when decoded (re-encoding copies it whole). */
  wire?: Uint8Array;
  /**
   * `buf` decoded in one call when every byte is ASCII (then byte offsets are
   * string offsets); null when it is not. Computed on first bulk access.
   */
  ascii?: string | null;
}

const bulkDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** True when no byte has the high bit set (checked four bytes at a time). */
export function isAscii(b: Uint8Array): boolean {
  const n = b.length;
  let i = 0;
  while (i < n && (b.byteOffset + i) & 3) if (b[i++]! & 0x80) return false;
  const words = (n - i) >>> 2;
  if (words > 0) {
    const w = new Uint32Array(b.buffer, b.byteOffset + i, words);
    let acc = 0;
    for (let k = 0; k < words; k++) acc |= w[k]!;
    if (acc & 0x80808080) return false;
    i += words * 4;
  }
  for (; i < n; i++) if (b[i]! & 0x80) return false;
  return true;
}

/**
 * One TextDecoder call for the whole column is much cheaper than one per row;
 * when the bytes are pure ASCII (varuint lengths < 128 included) each value is
 * then a substring at its byte offsets.
 */
function asciiText(d: StringData): string | null {
  if (d.ascii !== undefined) return d.ascii;
  let text: string | null = null;
  // A column whose first bytes are not ASCII is decoded row by row without a trial.
  if (d.buf.length >= 64 && isAscii(d.buf.subarray(0, 256))) {
    const t = bulkDecoder.decode(d.buf);
    // Same length and no U+FFFD ⇒ every byte was ASCII: any other byte either starts a
    // multi-byte sequence (fewer UTF-16 units than bytes) or decodes to U+FFFD. (On the
    // one-byte string V8 makes of ASCII, indexOf('\uFFFD') returns at once.)
    if (t.length === d.buf.length && t.indexOf('\uFFFD') < 0) text = t;
  }
  d.ascii = text;
  return text;
}

/** All values of a String column as JS strings (or byte views). */
export function stringValues(d: StringData, o: ValueOptions): unknown[] {
  const n = d.rows;
  const out = new Array<unknown>(n);
  if (o.strings !== 'bytes') {
    const text = asciiText(d);
    if (text !== null) {
      const { starts, ends } = d;
      for (let i = 0; i < n; i++) out[i] = text.substring(starts[i]!, ends[i]!);
      return out;
    }
  }
  for (let i = 0; i < n; i++) out[i] = stringValue(d, i, o);
  return out;
}

/** Row by row: a substring of the column's bulk-decoded text when it is ASCII. */
export function stringReader(d: StringData, o: ValueOptions): ValueReader {
  if (o.strings !== 'bytes') {
    const text = asciiText(d);
    if (text !== null) {
      const { starts, ends } = d;
      return (i) => text.substring(starts[i]!, ends[i]!);
    }
  }
  return (i) => stringValue(d, i, o);
}

/** The most room a String column's estimated end may ask for beyond the bytes it needs now. */
const EXPECT_AHEAD_MAX = 16 * 1024 * 1024;

interface StringScan {
  row: number;
  /** Position relative to the column start. */
  rel: number;
  starts: Uint32Array;
  ends: Uint32Array;
}

/** Decode `rows` strings at c.pos. Resumes from ctx.memo when a previous attempt ran out of bytes. */
export function readStrings(c: Cursor, rows: number, ctx: DecodeContext): StringData {
  // A 0-row column starts where the next one does: it must not pick up that one's memo.
  if (rows === 0) return { buf: c.buf.subarray(c.pos, c.pos), starts: new Uint32Array(0), ends: new Uint32Array(0), rows: 0, wire: c.buf.subarray(c.pos, c.pos) };
  const colStart = c.pos;
  const key = ctx.base + colStart;
  let scan = ctx.memo?.get(key) as StringScan | undefined;
  let row = 0;
  let starts: Uint32Array;
  let ends: Uint32Array;
  let p: number;
  if (scan) {
    ({ row, starts, ends } = scan);
    p = colStart + scan.rel;
  } else {
    // Each row takes at least one byte: do not allocate for rows the bytes cannot hold yet.
    if (c.end - colStart < rows) {
      c.wantPos = colStart + rows;
      throw NEED_MORE;
    }
    starts = new Uint32Array(rows);
    ends = new Uint32Array(rows);
    p = colStart;
  }
  const buf = c.buf;
  const end = c.end;
  for (; row < rows; row++) {
    const rowStart = p;
    if (p >= end) return suspend(c, ctx, key, rowStart + 1, row, rowStart - colStart, starts, ends);
    let len = buf[p++]!;
    if (len >= 0x80) {
      len &= 0x7f;
      let mul = 128;
      for (let k = 1; ; k++) {
        if (p >= end) return suspend(c, ctx, key, p + 1, row, rowStart - colStart, starts, ends);
        const b = buf[p++]!;
        len += (b & 0x7f) * mul;
        if (b < 0x80) break;
        mul *= 128;
        if (k >= 9) throw new DecodeError('string length varuint is longer than 10 bytes');
      }
      if (len > Limits.maxStringBytes) throw new LimitError(`string length ${len} exceeds ${Limits.maxStringBytes}`);
    }
    if (p + len > end) return suspend(c, ctx, key, p + len, row, rowStart - colStart, starts, ends);
    starts[row] = p - colStart;
    p += len;
    ends[row] = p - colStart;
  }
  if (scan) ctx.memo!.delete(key);
  if (p - colStart > 0xffffffff) throw new LimitError('a String column over 4 GiB in one block');
  c.pos = p;
  const view = buf.subarray(colStart, p);
  return { buf: view, starts, ends, rows, wire: view };
}

function suspend(
  c: Cursor,
  ctx: DecodeContext,
  key: number,
  want: number,
  row: number,
  rel: number,
  starts: Uint32Array,
  ends: Uint32Array,
): never {
  if (ctx.memo) ctx.memo.set(key, { row, rel, starts, ends } satisfies StringScan);
  c.wantPos = want;
  // The column's likely end at the average row size so far, plus 1/8 (rows tend to grow:
  // an estimate that falls short moves the whole column again), at most 16 MiB ahead.
  if (row > 0) c.expectPos = Math.max(want, Math.min(want + EXPECT_AHEAD_MAX, Math.ceil(c.pos + (rel / row) * starts.length * 1.125)));
  throw NEED_MORE;
}

export function stringValue(d: StringData, i: number, o: ValueOptions): string | Uint8Array {
  const s = d.starts[i]!;
  const e = d.ends[i]!;
  return o.strings === 'bytes' ? d.buf.subarray(s, e) : decodeUtf8(d.buf, s, e);
}

export function writeStrings(w: Writer, d: StringData): void {
  if (d.wire) {
    w.raw(d.wire, false);
    return;
  }
  // One reservation for the whole column, then a tight loop (short values copied bytewise).
  const { starts, ends, buf: src } = d;
  let total = 0;
  for (let i = 0; i < d.rows; i++) total += ends[i]! - starts[i]! + 10;
  w.ensure(total);
  const dst = w.slab();
  let p = w.pos;
  for (let i = 0; i < d.rows; i++) {
    const s = starts[i]!;
    const e = ends[i]!;
    let len = e - s;
    while (len >= 0x80) {
      dst[p++] = (len & 0x7f) | 0x80;
      len >>>= 7;
    }
    dst[p++] = len;
    if (e - s < 24) for (let k = s; k < e; k++) dst[p++] = src[k]!;
    else {
      dst.set(src.subarray(s, e), p);
      p += e - s;
    }
  }
  w.pos = p;
}

/** Strings (or byte arrays) to StringData. */
/**
 * Strings (or byte arrays) to StringData, written directly in wire form
 * (varuint length + bytes per row) so that encoding later copies nothing.
 */
export function stringsFromValues(values: ArrayLike<unknown>, check?: (v: Uint8Array | string, i: number) => void): StringData {
  const n = values.length;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  let cap = 64;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    cap += (typeof v === 'string' ? v.length * 3 : v instanceof Uint8Array ? v.length : 32) + 5;
  }
  let buf = new Uint8Array(cap);
  let p = 0;
  for (let i = 0; i < n; i++) {
    let v = values[i];
    if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') {
      v = String(v);
      if (p + (v as string).length * 3 + 5 > buf.length) {
        const next = new Uint8Array((p + (v as string).length * 3 + 5) * 2);
        next.set(buf.subarray(0, p));
        buf = next;
      }
    }
    let len: number;
    if (typeof v === 'string') {
      if (v.length < 43) {
        // At most 126 bytes of UTF-8: the length is one varuint byte, written after.
        len = encodeUtf8Into(v, buf, p + 1);
        buf[p] = len;
        p += 1;
      } else {
        // Encode after room for the longest varuint, then close the gap.
        len = encodeUtf8Into(v, buf, p + 5);
        const lenBytes = len < 0x80 ? 1 : len < 0x4000 ? 2 : len < 0x200000 ? 3 : len < 0x10000000 ? 4 : 5;
        let x = len;
        let q = p;
        while (x >= 0x80) {
          buf[q++] = (x & 0x7f) | 0x80;
          x >>>= 7;
        }
        buf[q] = x;
        if (lenBytes < 5) buf.copyWithin(p + lenBytes, p + 5, p + 5 + len);
        p += lenBytes;
      }
    } else if (v instanceof Uint8Array) {
      len = v.length;
      let x = len;
      while (x >= 0x80) {
        buf[p++] = (x & 0x7f) | 0x80;
        x >>>= 7;
      }
      buf[p++] = x;
      buf.set(v, p);
    } else throw new RowValueError(i, v, 'not a string or Uint8Array');
    starts[i] = p;
    p += len;
    ends[i] = p;
    if (check) check(typeof v === 'string' ? v : buf.subarray(starts[i]!, p), i);
  }
  const wire = buf.subarray(0, p);
  return { buf: wire, starts, ends, rows: n, wire };
}

export function makeStringCodec(node: TypeNode): Codec<StringData> {
  return {
    typeName: 'String',
    node,
    readPrefix: noPrefix,
    decode: (c, rows, _p, ctx) => readStrings(c, rows, ctx),
    length: (d) => d.rows,
    get: stringValue,
    reader: stringReader,
    toArray: stringValues,
    fromValues: (values) => stringsFromValues(values),
    writePrefix: noPrefix,
    encode: (w, d) => writeStrings(w, d),
    defaultValue: () => '',
  };
}

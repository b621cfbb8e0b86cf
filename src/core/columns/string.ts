// String: per row `varuint length + bytes`. Decoding only records where each
// value lies (lazy UTF-8); the JS string is made on access.
import { NEED_MORE } from '../errors.js';
import { LimitError, DecodeError } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import { decodeUtf8, encodeUtf8Into } from '../io/utf8.js';
import { Writer } from '../io/writer.js';
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
  /** `buf` decoded in runs, with each value's UTF-16 offsets; null when values must be decoded one by one. Made on first bulk access. */
  bulk?: BulkText | null;
}

const bulkDecoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * Whether the first bytes of `b` are valid UTF-8 (cut at a sequence start): a column
 * that starts with binary data is decoded row by row without a bulk trial.
 */
function startsAsUtf8(b: Uint8Array): boolean {
  let n = Math.min(b.length, 256);
  if (n < b.length) while (n > 0 && (b[n]! & 0xc0) === 0x80) n--;
  return bulkDecoder.decode(b.subarray(0, n)).indexOf('\uFFFD') < 0;
}

/** Runs longer than this are not decoded in one call (V8 strings stop at 2^29 - 24 UTF-16 units). */
const MAX_BULK_BYTES = 1 << 28;

/**
 * The column's values as slices of a few long strings: one TextDecoder call per
 * run of values is much cheaper than one per value. A run is as long as the
 * lengths between its values are single ASCII bytes (values < 128 bytes), so a
 * column of short values is one run, and a long value starts a new one.
 * Value i is texts[run[i]].substring(starts[i], ends[i]) (UTF-16 offsets); with
 * one run of ASCII bytes, `run` is null and the offsets are the byte offsets.
 */
interface BulkText {
  texts: string[];
  run: Uint32Array | null;
  starts: Uint32Array;
  ends: Uint32Array;
}

function bulkText(d: StringData): BulkText | null {
  if (d.bulk === undefined) d.bulk = d.buf.length >= 64 && startsAsUtf8(d.buf) ? decodeRuns(d) : null;
  return d.bulk;
}

/**
 * Decode `d` run by run; null when some value is not valid UTF-8 on its own
 * (then values are decoded one by one, each invalid sequence becoming U+FFFD).
 */
function decodeRuns(d: StringData): BulkText | null {
  const { buf, starts, ends, rows } = d;
  if (rows === 0) return null;
  const short = (i: number) => ends[i]! - starts[i]! < 0x80;
  const texts: string[] = [];
  let run: Uint32Array | undefined;
  let s16: Uint32Array | undefined;
  let e16: Uint32Array | undefined;
  let first = 0;
  while (first < rows) {
    // Extend the run while the next value's length is one byte (< 128) and the run stays small.
    let last = first;
    while (last + 1 < rows && short(last + 1) && ends[last + 1]! - starts[first]! <= MAX_BULK_BYTES) last++;
    // The first run starts at byte 0 (its length byte included) when that is one ASCII byte.
    const from = first === 0 && short(0) ? 0 : starts[first]!;
    const to = ends[last]!;
    if (to - from > MAX_BULK_BYTES) return null;
    const t = bulkDecoder.decode(buf.subarray(from, to));
    // No U+FFFD ⇒ the bytes are valid UTF-8 (each invalid byte decodes to U+FFFD).
    if (t.indexOf('\uFFFD') >= 0) return null;
    // One run, same length ⇒ every byte was ASCII (any other byte of valid UTF-8 starts or
    // continues a multi-byte sequence: fewer UTF-16 units than bytes); byte offsets are string
    // offsets. (On the one-byte string V8 makes of ASCII, indexOf('\uFFFD') returns at once.)
    if (from === 0 && last === rows - 1 && t.length === to) return { texts: [t], run: null, starts, ends };
    run ??= new Uint32Array(rows);
    s16 ??= new Uint32Array(rows);
    e16 ??= new Uint32Array(rows);
    if (t.length === to - from) {
      // An ASCII run: UTF-16 offsets are byte offsets from the run's start.
      for (let i = first; i <= last; i++) {
        s16[i] = starts[i]! - from;
        e16[i] = ends[i]! - from;
      }
    } else if (!utf16Offsets(buf, starts, ends, first, last, from, t.length, s16, e16)) return null;
    run.fill(texts.length, first, last + 1);
    texts.push(t);
    first = last + 1;
  }
  return { texts, run: run!, starts: s16!, ends: e16! };
}

/**
 * UTF-16 offsets (into the text of `units` units decoded from byte `from` on) of values
 * first..last, from their valid UTF-8 bytes: every byte that does not continue a sequence starts one
 * UTF-16 unit, and a four-byte sequence's lead one more (a surrogate pair). No sequence
 * crosses a value's edge: inside a run, values are separated by one-byte (ASCII) lengths,
 * and a sequence cut at a run's edge decodes to U+FFFD, which sends the column row by row.
 */
function utf16Offsets(buf: Uint8Array, starts: Uint32Array, ends: Uint32Array, first: number, last: number, from: number, units: number, s16: Uint32Array, e16: Uint32Array): boolean {
  let pos = from;
  let u = 0;
  const upTo = (end: number): void => {
    u += end - pos;
    for (; pos < end; pos++) {
      const x = buf[pos]!;
      if (x >= 0x80) {
        if (x < 0xc0) u--;
        else if (x >= 0xf0) u++;
      }
    }
  };
  for (let i = first; i <= last; i++) {
    upTo(starts[i]!);
    s16[i] = u;
    upTo(ends[i]!);
    e16[i] = u;
  }
  // Valid UTF-8 decodes to exactly these units; a mismatch would be a bug: fall back then too.
  return u === units;
}

/**
 * All values of a String column as JS strings (or byte views). The loops are stringReader()'s,
 * written out: going through the reader per value measured 10–20 % slower here (codecs bench).
 */
export function stringValues(d: StringData, o: ValueOptions): unknown[] {
  const n = d.rows;
  const out = new Array<unknown>(n);
  if (o.strings !== 'bytes') {
    const bulk = bulkText(d);
    if (bulk !== null) {
      const { texts, run, starts, ends } = bulk;
      if (run === null) {
        const text = texts[0]!;
        for (let i = 0; i < n; i++) out[i] = text.substring(starts[i]!, ends[i]!);
      } else for (let i = 0; i < n; i++) out[i] = texts[run[i]!]!.substring(starts[i]!, ends[i]!);
      return out;
    }
  }
  for (let i = 0; i < n; i++) out[i] = stringValue(d, i, o);
  return out;
}

/** Row by row: a substring of the column's bulk-decoded text. */
export function stringReader(d: StringData, o: ValueOptions): ValueReader {
  if (o.strings !== 'bytes') {
    const bulk = bulkText(d);
    if (bulk !== null) {
      const { texts, run, starts, ends } = bulk;
      if (run === null) {
        const text = texts[0]!;
        return (i) => text.substring(starts[i]!, ends[i]!);
      }
      return (i) => texts[run[i]!]!.substring(starts[i]!, ends[i]!);
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
    p = putVarUInt(dst, p, e - s);
    if (e - s < 24) for (let k = s; k < e; k++) dst[p++] = src[k]!;
    else {
      dst.set(src.subarray(s, e), p);
      p += e - s;
    }
  }
  w.pos = p;
}

/**
 * Strings (or byte arrays) to StringData, written directly in wire form
 * (varuint length + bytes per row) so that encoding later copies nothing.
 */
export function stringsFromValues(values: ArrayLike<unknown>, check?: (v: Uint8Array | string, i: number) => void): StringData {
  const n = values.length;
  const starts = new Uint32Array(n);
  const ends = new Uint32Array(n);
  const w = new Writer(0);
  writeStringValues(w, values, starts, ends, check);
  const wire = w.detach();
  return { buf: wire, starts, ends, rows: n, wire };
}

/**
 * Write values in wire form (varuint length + UTF-8 or the bytes given) straight into `w`, as
 * fromValues() then encode() would; `starts`/`ends` (when given) get each value's bytes' place
 * relative to where this column starts. Throws RowValueError for a value that is not text.
 */
export function writeStringValues(w: Writer, values: ArrayLike<unknown>, starts?: Uint32Array, ends?: Uint32Array, check?: (v: Uint8Array | string, i: number) => void): void {
  const n = values.length;
  // Room for ASCII text (one byte per code unit) plus one value at its worst (3 bytes per
  // unit), reserved once: sizing for the worst case everywhere (3×) cost more to allocate and
  // zero than the encoding itself. Text that is not ASCII grows the writer by doubling.
  let cap = 64;
  let widest = 0;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    const len = typeof v === 'string' ? v.length : v instanceof Uint8Array ? v.length : 32;
    cap += len + 5;
    if (typeof v === 'string' && v.length > widest) widest = v.length;
  }
  w.ensure(cap + 2 * widest);
  const base = w.pos;
  let buf = w.slab();
  let p = w.pos;
  for (let i = 0; i < n; i++) {
    const given = values[i];
    const v = typeof given === 'number' || typeof given === 'bigint' || typeof given === 'boolean' ? String(given) : given;
    if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
      w.pos = p;
      throw new RowValueError(i, v, 'not a string or Uint8Array');
    }
    const text = typeof v === 'string';
    // Room for this value at its worst: the estimate above holds unless earlier text was not ASCII.
    const need = text ? v.length * 3 + 5 : v.length + 5;
    if (p + need > buf.length) {
      w.pos = p;
      w.ensure(need);
      buf = w.slab();
      p = w.pos;
    }
    let len: number;
    if (text) {
      if (v.length < 43) {
        // At most 126 bytes of UTF-8: the length is one varuint byte, written after.
        len = encodeUtf8Into(v, buf, p + 1);
        buf[p] = len;
        p += 1;
      } else if (v.length < 0x80 && (len = encodeUtf8Into(v, buf, p + 1)) < 0x80) {
        // Guessed right: under 128 bytes (ASCII text, mostly), the length is one byte.
        buf[p] = len;
        p += 1;
      } else {
        // Encode after room for the longest varuint, then close the gap.
        len = encodeUtf8Into(v, buf, p + 5);
        const lenBytes = putVarUInt(buf, p, len) - p;
        if (lenBytes < 5) buf.copyWithin(p + lenBytes, p + 5, p + 5 + len);
        p += lenBytes;
      }
    } else {
      len = v.length;
      p = putVarUInt(buf, p, len);
      buf.set(v, p);
    }
    if (starts) starts[i] = p - base;
    p += len;
    if (ends) ends[i] = p - base;
    if (check) check(text ? v : buf.subarray(p - len, p), i);
  }
  w.pos = p;
}

/** Write `x` as a varuint at buf[p]; returns the position after it. */
function putVarUInt(buf: Uint8Array, p: number, x: number): number {
  while (x >= 0x80) {
    buf[p++] = (x & 0x7f) | 0x80;
    x >>>= 7;
  }
  buf[p++] = x;
  return p;
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
    writeValues: (w, values) => writeStringValues(w, values),
    writePrefix: noPrefix,
    encode: (w, d) => writeStrings(w, d),
    defaultValue: () => '',
  };
}

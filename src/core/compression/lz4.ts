// LZ4 block format (not the LZ4 frame format): the payload of ClickHouse's
// method 0x82 frames. Format facts from lz4's doc/lz4_Block_format.md:
// sequences of token (literal length hi nibble, match length - 4 lo nibble),
// 255-continued length bytes, literals, 2-byte LE offset (1..65535); the last
// sequence is literals only; the last 5 bytes are always literals and the last
// match starts at least 12 bytes before the end of the block.
import { CompressionError } from '../errors.js';

const MIN_MATCH = 4;
/** The last match must start at least this many bytes before the end. */
const MF_LIMIT = 12;
/** The last bytes of a block are always literals. */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
/** Below this a copy is faster byte by byte than through a typed-array call. */
const SHORT_COPY = 24;
/** From this length a copy goes through set/copyWithin (a native memmove). */
const LONG_COPY = 128;

/** Largest LZ4 block the compressor can produce for n input bytes (LZ4_COMPRESSBOUND). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function corrupt(what: string, at: number): CompressionError {
  return new CompressionError(`LZ4: ${what} at input byte ${at}`, 'CHWIRE_LZ4_CORRUPT');
}

/**
 * Decompresses the LZ4 block src[srcStart, srcEnd) into dst[dstStart, dstEnd) and
 * returns the number of bytes written. Hostile input is safe: nothing is read
 * outside [srcStart, srcEnd), nothing written outside [dstStart, dstEnd), and a
 * match may reach back no further than dstStart. Errors are CompressionError
 * with code 'CHWIRE_LZ4_CORRUPT'.
 */
export function lz4DecompressBlock(
  src: Uint8Array,
  srcStart: number,
  srcEnd: number,
  dst: Uint8Array,
  dstStart: number,
  dstEnd: number,
): number {
  if (srcStart < 0 || srcEnd > src.length || srcStart > srcEnd) throw new RangeError('LZ4: bad source range');
  if (dstStart < 0 || dstEnd > dst.length || dstStart > dstEnd) throw new RangeError('LZ4: bad destination range');
  let ip = srcStart;
  let op = dstStart;
  const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const dv = new DataView(dst.buffer, dst.byteOffset, dst.byteLength);
  for (;;) {
    if (ip >= srcEnd) throw corrupt('input ends before a sequence token', ip);
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw corrupt('input ends inside a literal length', ip);
        b = src[ip++]!;
        lit += b;
      } while (b === 255);
    }
    if (lit > srcEnd - ip) throw corrupt(`literal run of ${lit} bytes passes the end of the input`, ip);
    if (lit > dstEnd - op) throw corrupt(`literal run of ${lit} bytes passes the declared output size`, ip);
    if (lit < 8) {
      for (let i = 0; i < lit; i++) dst[op + i] = src[ip + i]!;
    } else if (lit < LONG_COPY) {
      let i = 0;
      for (; i + 4 <= lit; i += 4) dv.setInt32(op + i, sv.getInt32(ip + i, true), true);
      for (; i < lit; i++) dst[op + i] = src[ip + i]!;
    } else {
      dst.set(src.subarray(ip, ip + lit), op);
    }
    ip += lit;
    op += lit;
    if (ip === srcEnd) return op - dstStart; // the last sequence has no match
    if (srcEnd - ip < 2) throw corrupt('input ends inside a match offset', ip);
    const offset = src[ip]! | (src[ip + 1]! << 8);
    if (offset === 0) throw corrupt('match offset 0', ip);
    if (offset > op - dstStart) throw corrupt(`match offset ${offset} reaches before the start of the output`, ip);
    ip += 2;
    let len = token & 15;
    if (len === 15) {
      let b: number;
      do {
        if (ip >= srcEnd) throw corrupt('input ends inside a match length', ip);
        b = src[ip++]!;
        len += b;
      } while (b === 255);
    }
    len += MIN_MATCH;
    if (len > dstEnd - op) throw corrupt(`match of ${len} bytes passes the declared output size`, ip);
    const from = op - offset;
    if (offset >= 4 && len < LONG_COPY) {
      // 4-byte steps: each read lies wholly before the write position (offset >= 4),
      // so an overlapping match still repeats its own output.
      let i = 0;
      if (offset >= 8) {
        for (; i + 8 <= len; i += 8) {
          const a = dv.getInt32(from + i, true);
          const b = dv.getInt32(from + i + 4, true);
          dv.setInt32(op + i, a, true);
          dv.setInt32(op + i + 4, b, true);
        }
      }
      for (; i + 4 <= len; i += 4) dv.setInt32(op + i, dv.getInt32(from + i, true), true);
      for (; i < len; i++) dst[op + i] = dst[from + i]!;
      op += len;
    } else if (len < SHORT_COPY) {
      // Byte order matters: an overlapping match repeats its own output.
      for (let i = 0; i < len; i++) dst[op + i] = dst[from + i]!;
      op += len;
    } else if (offset >= len) {
      dst.copyWithin(op, from, from + len);
      op += len;
    } else {
      // Overlapping long match: copy whole periods, doubling the period each time.
      const end = op + len;
      let period = offset;
      while (op < end) {
        const n = Math.min(period, end - op);
        dst.copyWithin(op, from, from + n);
        op += n;
        // [from, op) stays periodic in offset, and op - from is a multiple of it.
        period += n;
      }
    }
  }
}

/**
 * A reusable LZ4 block compressor (greedy, one 4-byte hash probe per position,
 * lz4's "fast" strategy with acceleration 1). Holds its hash table between calls;
 * one instance must not be used from two places at once (it is synchronous, so
 * in JavaScript that only matters across workers, which cannot share it anyway).
 */
export class Lz4BlockCompressor {
  private table = new Int32Array(0);

  /** Compresses src into dst at dstOffset; dst needs lz4CompressBound(src.length) bytes there. Returns bytes written. */
  compressInto(src: Uint8Array, dst: Uint8Array, dstOffset: number): number {
    const n = src.length;
    if (dst.length - dstOffset < lz4CompressBound(n)) throw new RangeError('LZ4: destination smaller than lz4CompressBound');
    let op = dstOffset;
    let anchor = 0;
    if (n >= MF_LIMIT + 1) {
      let hashLog = 10;
      while (hashLog < 16 && 1 << hashLog < n) hashLog++;
      const shift = 32 - hashLog;
      if (this.table.length !== 1 << hashLog) this.table = new Int32Array(1 << hashLog);
      const table = this.table;
      table.fill(-1);
      const sv = new DataView(src.buffer, src.byteOffset, src.byteLength);
      const mfLimit = n - MF_LIMIT;
      const matchLimit = n - LAST_LITERALS;
      let ip = 1;
      table[Math.imul(sv.getInt32(0, true), -1640531535) >>> shift] = 0;
      outer: for (;;) {
        // Find a match; the step grows after 64 misses (skip incompressible data fast).
        let attempts = 1 << 6;
        let ref = 0;
        let seq = 0;
        for (;;) {
          if (ip > mfLimit) break outer;
          seq = sv.getInt32(ip, true);
          const h = Math.imul(seq, -1640531535) >>> shift;
          ref = table[h]!;
          table[h] = ip;
          if (ref >= 0 && ip - ref <= MAX_OFFSET && sv.getInt32(ref, true) === seq) break;
          ip += attempts++ >>> 6;
        }
        // Extend backwards over pending literals.
        while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
          ip--;
          ref--;
        }
        // Extend forwards, 4 bytes at a time, then bytewise.
        let len = MIN_MATCH;
        while (ip + len + 4 <= matchLimit && sv.getInt32(ref + len, true) === sv.getInt32(ip + len, true)) len += 4;
        while (ip + len < matchLimit && src[ref + len] === src[ip + len]) len++;

        // Emit the sequence: token, literal length, literals, offset, match length.
        const lit = ip - anchor;
        const tokenPos = op++;
        let token: number;
        if (lit >= 15) {
          token = 15 << 4;
          let r = lit - 15;
          for (; r >= 255; r -= 255) dst[op++] = 255;
          dst[op++] = r;
        } else {
          token = lit << 4;
        }
        if (lit < SHORT_COPY) {
          for (let i = 0; i < lit; i++) dst[op + i] = src[anchor + i]!;
        } else {
          dst.set(src.subarray(anchor, ip), op);
        }
        op += lit;
        const off = ip - ref;
        dst[op++] = off & 255;
        dst[op++] = off >>> 8;
        const m = len - MIN_MATCH;
        if (m >= 15) {
          token |= 15;
          let r = m - 15;
          for (; r >= 255; r -= 255) dst[op++] = 255;
          dst[op++] = r;
        } else {
          token |= m;
        }
        dst[tokenPos] = token;
        ip += len;
        anchor = ip;
        if (ip > mfLimit) break;
        // Index a position inside the match so the next search starts warm.
        table[Math.imul(sv.getInt32(ip - 2, true), -1640531535) >>> shift] = ip - 2;
      }
    }
    // Last literals.
    const lit = n - anchor;
    if (lit >= 15) {
      dst[op++] = 15 << 4;
      let r = lit - 15;
      for (; r >= 255; r -= 255) dst[op++] = 255;
      dst[op++] = r;
    } else {
      dst[op++] = lit << 4;
    }
    dst.set(src.subarray(anchor, n), op);
    op += lit;
    return op - dstOffset;
  }

  /** Compresses src into a new array of exactly the compressed length. */
  compress(src: Uint8Array): Uint8Array {
    const out = new Uint8Array(lz4CompressBound(src.length));
    return out.slice(0, this.compressInto(src, out, 0));
  }
}

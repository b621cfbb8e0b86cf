// UTF-8 decoding with a fast path for short ASCII strings, which dominate
// real columns (identifiers, URLs, enum-like values). TextDecoder has a fixed
// per-call cost that is larger than decoding a 16-byte ASCII run by hand.

const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const encoder = new TextEncoder();

/** Decode bytes [start, end) of buf. Invalid sequences become U+FFFD. */
export function decodeUtf8(buf: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len === 0) return '';
  if (len <= 24) {
    let s = '';
    for (let i = start; i < end; i++) {
      const b = buf[i]!;
      if (b >= 0x80) return decoder.decode(buf.subarray(start, end));
      s += String.fromCharCode(b);
    }
    return s;
  }
  return decoder.decode(buf.subarray(start, end));
}

export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}

/** Upper bound of the UTF-8 length of a JS string. */
export function maxUtf8Length(s: string): number {
  return s.length * 3;
}

/**
 * Writes the UTF-8 of s at dst[pos…] (the caller assures room for it) and returns the bytes
 * written, exactly as TextEncoder.encodeInto would (a lone surrogate becomes U+FFFD).
 */
export type Utf8Writer = (s: string, dst: Uint8Array, pos: number) => number;

let platformWriter: Utf8Writer | undefined;

/**
 * Lets a platform supply a faster writer for strings past the ASCII loop's length:
 * encodeInto needs a view of the destination (an object) per call. The package's main
 * entry installs Node's Buffer#utf8Write; the core alone uses TextEncoder.
 */
export function setUtf8Writer(w: Utf8Writer | undefined): void {
  platformWriter = w;
}

/** The platform writer in use, if any. */
export function utf8Writer(): Utf8Writer | undefined {
  return platformWriter;
}

/** Encode s into dst at pos; returns bytes written. dst must have maxUtf8Length(s) room. */
export function encodeUtf8Into(s: string, dst: Uint8Array, pos: number): number {
  const n = s.length;
  if (n <= 32) {
    // ASCII fast path; fall back on the first non-ASCII code unit.
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      dst[pos + i] = c;
    }
    if (i === n) return n;
  }
  if (platformWriter) return platformWriter(s, dst, pos);
  return encoder.encodeInto(s, dst.subarray(pos)).written;
}

/** True if bytes are valid UTF-8 (used where a lossless string form matters). */
export function isValidUtf8(buf: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch {
    return false;
  }
}

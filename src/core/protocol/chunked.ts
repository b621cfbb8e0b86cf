// Chunked packet framing (≥54470, when negotiated per direction): a message
// (one whole packet: code + body) travels as chunks `UInt32 LE size` + bytes,
// ended by a zero size. A split may fall anywhere in the packet, even inside
// the packet code. Sources: src/IO/WriteBufferFromPocoSocketChunked.cpp,
// ReadBufferFromPocoSocketChunked.cpp, and the native protocol spec.

import type { StreamBuffer } from '../io/stream-buffer.js';
import { concatBytes } from '../io/writer.js';

/** Largest chunk chwire writes (any size 1..2^32-1 is legal on the wire). */
export const DEFAULT_MAX_CHUNK = 1 << 20;

/**
 * Frame one message. `message` may be a list of parts (e.g. Writer.finish());
 * the result is a list of parts: headers are fresh arrays, payloads are views
 * of the input (not copied).
 */
export function encodeChunked(message: Uint8Array | readonly Uint8Array[], maxChunk = DEFAULT_MAX_CHUNK): Uint8Array[] {
  if (!(maxChunk >= 1 && maxChunk <= 0xffffffff)) throw new RangeError('maxChunk must be in 1..2^32-1');
  const parts = message instanceof Uint8Array ? [message] : message;
  const out: Uint8Array[] = [];
  for (const p of parts) {
    for (let off = 0; off < p.length; off += maxChunk) {
      const n = Math.min(maxChunk, p.length - off);
      out.push(u32le(n), p.subarray(off, off + n));
    }
  }
  out.push(u32le(0));
  return out;
}

/** encodeChunked as one contiguous array. */
export function encodeChunkedBytes(message: Uint8Array | readonly Uint8Array[], maxChunk = DEFAULT_MAX_CHUNK): Uint8Array {
  return concatBytes(encodeChunked(message, maxChunk));
}

function u32le(n: number): Uint8Array {
  const b = new Uint8Array(4);
  b[0] = n & 0xff;
  b[1] = (n >>> 8) & 0xff;
  b[2] = (n >>> 16) & 0xff;
  b[3] = (n >>> 24) & 0xff;
  return b;
}

/**
 * Resumable de-chunker: feed it the raw inbound stream in any slicing; it
 * returns the plain message bytes (zero-copy views of the input; do not
 * mutate input buffers until those views are consumed). Terminators are
 * consumed transparently; `messagesEnded` counts them, and `atBoundary` tells
 * whether the stream is between messages (no chunk open, no partial header).
 */
export class Dechunker {
  /** Bytes left in the chunk being read. */
  private left = 0;
  /** Partial chunk-size header. */
  private header = new Uint8Array(4);
  private headerLen = 0;
  /** True after a chunk of the current message has started (cleared by a terminator). */
  private inMessage = false;
  /** Number of message terminators seen. */
  messagesEnded = 0;

  get atBoundary(): boolean {
    return this.left === 0 && this.headerLen === 0 && !this.inMessage;
  }

  push(bytes: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let p = 0;
    const n = bytes.length;
    while (p < n) {
      if (this.left > 0) {
        const take = Math.min(this.left, n - p);
        out.push(bytes.subarray(p, p + take));
        p += take;
        this.left -= take;
        continue;
      }
      // Read (the rest of) a 4-byte size.
      while (this.headerLen < 4 && p < n) this.header[this.headerLen++] = bytes[p++]!;
      if (this.headerLen < 4) break;
      const h = this.header;
      const size = (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0;
      this.headerLen = 0;
      if (size === 0) {
        // A terminator with no chunk before it carries no message: tolerated.
        this.inMessage = false;
        this.messagesEnded++;
      } else {
        this.inMessage = true;
        this.left = size;
      }
    }
    return out;
  }
}

/**
 * The bytes after this point of `input` are chunked: a new Dechunker takes over,
 * re-feeding what `input` already buffered; later bytes go through it too.
 */
export function dechunkBuffered(input: StreamBuffer): Dechunker {
  const d = new Dechunker();
  const rest = input.cursor();
  const tail = rest.buf.slice(rest.pos, rest.end);
  input.consumeTo(rest.end);
  for (const part of d.push(tail)) input.push(part);
  return d;
}

// A resumable frame decoder: bytes arrive in arbitrary pieces; each complete
// frame is checked and decompressed exactly once. Frames wholly inside a pushed
// chunk are decoded in place; only a frame split across chunks is assembled,
// into a buffer of its own size, allocated once its header (and so its checked
// size) is known — but never more than max(Limits.maxAllocAheadBytes, bytes held)
// ahead of the bytes received (a larger frame's buffer grows geometrically as it
// arrives). Memory held between pushes: at most one frame.
import { CompressionError } from '../errors.js';
import { Limits } from '../limits.js';
import type { CodecSet } from './codec.js';
import {
  FRAME_PREFIX_BYTES,
  decodeFrameBody,
  readFrameHeader,
  resolveLimits,
  type FrameHeader,
  type FrameLimits,
} from './frame.js';

export class FrameDecoder {
  private readonly codecs: CodecSet;
  private readonly limits: Required<FrameLimits>;
  /** The first bytes of a split frame, until its header is complete. */
  private readonly prefix = new Uint8Array(FRAME_PREFIX_BYTES);
  private prefixLen = 0;
  /** A split frame being assembled, once its header has been read (capacity ≤ its frameBytes). */
  private frame: Uint8Array | null = null;
  private frameHeader: FrameHeader | null = null;
  private frameLen = 0;
  private failure: unknown = null;

  constructor(codecs: CodecSet, limits?: FrameLimits) {
    this.codecs = codecs;
    this.limits = resolveLimits(limits);
  }

  /** Bytes held for a frame not yet complete. */
  get bufferedBytes(): number {
    return this.frame !== null ? this.frameLen : this.prefixLen;
  }

  /** True between frames (nothing partial held). */
  get idle(): boolean {
    return this.frame === null && this.prefixLen === 0;
  }

  /**
   * Feeds bytes; returns the decompressed payloads of the frames these bytes
   * completed, in order (often none). The chunk is not retained after return.
   * After an error the decoder is unusable: every later call rethrows it.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failure !== null) throw this.failure;
    try {
      return this.pushInner(chunk);
    } catch (e) {
      this.failure = e;
      this.frame = null;
      throw e;
    }
  }

  /** Checks that the stream ended on a frame boundary. */
  end(): void {
    if (this.failure !== null) throw this.failure;
    if (!this.idle) {
      const want = this.frameHeader !== null ? this.frameHeader.frameBytes : FRAME_PREFIX_BYTES;
      throw new CompressionError(
        `stream ended inside a compressed frame (${this.bufferedBytes} of ${want} bytes)`,
        'CHWIRE_FRAME_TRUNCATED',
      );
    }
  }

  /** Start assembling a split frame from its first bytes `head`; `more` bytes of it are at hand besides. */
  private startFrame(h: FrameHeader, head: Uint8Array, more: number): void {
    const have = head.length + more;
    // The declared size is not trusted for allocation: at most the cap beyond what is at hand.
    const frame = new Uint8Array(Math.min(h.frameBytes, have + Limits.maxAllocAheadBytes));
    frame.set(head);
    this.frame = frame;
    this.frameHeader = h;
    this.frameLen = head.length;
  }

  /** The split frame's buffer, grown (geometrically, ≤ its frameBytes) to hold `more` bytes after frameLen. */
  private room(more: number): Uint8Array {
    const frame = this.frame!;
    const want = this.frameLen + more;
    if (want <= frame.length) return frame;
    const held = this.frameLen;
    const next = new Uint8Array(Math.min(this.frameHeader!.frameBytes, Math.max(want, held + Math.max(Limits.maxAllocAheadBytes, held))));
    next.set(frame.subarray(0, held));
    this.frame = next;
    return next;
  }

  private pushInner(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    let pos = 0;
    const n = chunk.length;
    // 1. Finish a frame split across pushes.
    if (this.frame === null && this.prefixLen > 0) {
      const take = Math.min(FRAME_PREFIX_BYTES - this.prefixLen, n);
      this.prefix.set(chunk.subarray(0, take), this.prefixLen);
      this.prefixLen += take;
      pos = take;
      if (this.prefixLen < FRAME_PREFIX_BYTES) return out;
      const h = readFrameHeader(this.prefix, 0, this.limits);
      this.startFrame(h, this.prefix, n - pos);
      this.prefixLen = 0;
    }
    if (this.frame !== null) {
      const h = this.frameHeader!;
      const take = Math.min(h.frameBytes - this.frameLen, n - pos);
      const frame = this.room(take);
      frame.set(chunk.subarray(pos, pos + take), this.frameLen);
      this.frameLen += take;
      pos += take;
      if (this.frameLen < h.frameBytes) return out;
      this.frame = null;
      this.frameHeader = null;
      this.frameLen = 0;
      out.push(decodeFrameBody(frame, 0, h, this.codecs));
    }
    // 2. Whole frames inside this chunk, decoded in place.
    while (n - pos >= FRAME_PREFIX_BYTES) {
      const h = readFrameHeader(chunk, pos, this.limits);
      if (n - pos < h.frameBytes) {
        this.startFrame(h, chunk.subarray(pos), 0);
        return out;
      }
      out.push(decodeFrameBody(chunk, pos, h, this.codecs));
      pos += h.frameBytes;
    }
    // 3. A tail too short to hold a header.
    if (pos < n) {
      this.prefix.set(chunk.subarray(pos), 0);
      this.prefixLen = n - pos;
    }
    return out;
  }
}

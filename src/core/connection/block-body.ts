// The body that follows a block packet's header (Data, Totals, Extremes, Log, ProfileEvents, and
// compressed TableColumns): plain bytes, or whole compression frames that are decompressed one by one
// into a buffer of their own — a block always ends at a frame boundary. Shared by both sides.
import { DecodeError, isNeedMore } from '../errors.js';
import type { Cursor } from '../io/cursor.js';
import { StreamBuffer } from '../io/stream-buffer.js';
import type { CodecSet } from '../compression/codec.js';
import { FRAME_PREFIX_BYTES, decodeFrameBody, readFrameHeader, resolveLimits } from '../compression/frame.js';
import type { BlockDecoder } from '../native/reader.js';

export class BlockBodyReader {
  /** Decompressed bytes of the current body, when it is compressed. */
  private plain: StreamBuffer | undefined;
  private readonly limits = resolveLimits();
  /** Method byte of the first frame seen (the peer's compression method). */
  method: number | undefined;

  constructor(
    private readonly input: StreamBuffer,
    private readonly codecs: () => CodecSet | undefined,
  ) {}

  /** True while the current body is read from compression frames. */
  get compressed(): boolean {
    return this.plain !== undefined;
  }

  /** A new body starts after a packet header. */
  start(compressed: boolean): void {
    this.plain = compressed ? new StreamBuffer() : undefined;
  }

  /**
   * Decode the body with `decode` (which throws NEED_MORE or returns undefined on partial input); undefined
   * while more input is needed. With `blocks`, an uncompressed body gets its buffer sized
   * and aligned for the rest of the block.
   */
  next<T>(decode: (c: Cursor, base: number) => T, blocks?: BlockDecoder): T | undefined {
    // The byte the last attempt waited for has not arrived: no new attempt (no cursor, no throw).
    if (!this.plain && blocks?.waiting(this.input.absEnd)) return undefined;
    for (;;) {
      const src = this.plain ?? this.input;
      if (src.available > 0 || (!this.plain && blocks?.inProgress)) {
        const c = src.cursor();
        let value: T | undefined;
        try {
          value = decode(c, src.base);
        } catch (e) {
          if (!isNeedMore(e)) throw e;
        }
        src.consumeTo(c.pos);
        // Else more input is needed (said by NEED_MORE, or by undefined from BlockDecoder.tryRead).
        if (value !== undefined) {
          if (this.plain && this.plain.available !== 0) throw new DecodeError(`${this.plain.available} stray bytes after a compressed block`);
          this.plain = undefined;
          return value;
        }
      }
      if (!this.plain) {
        if (blocks) this.input.reserve(blocks.wantAbs, blocks.alignAbs, blocks.expectAbs);
        return undefined;
      }
      if (!this.pullFrame()) return undefined;
    }
  }

  /** Decompress the next complete frame from input into the plain buffer; false if none is complete. */
  private pullFrame(): boolean {
    const input = this.input;
    if (input.available < FRAME_PREFIX_BYTES) return false;
    const buf = input.buf.subarray(0, input.end);
    const h = readFrameHeader(buf, input.start, this.limits);
    if (input.available < h.frameBytes) return false;
    const data = decodeFrameBody(buf, input.start, h, this.codecs() ?? { get: () => undefined, codecs: [] });
    this.method ??= h.method;
    input.consumeTo(input.start + h.frameBytes);
    this.plain!.push(data);
    return true;
  }
}

import { Cursor } from './cursor.js';
import { LimitError } from '../errors.js';
import { Limits } from '../limits.js';

/**
 * Accumulates inbound chunks for a resumable reader. Bytes before `start` are
 * consumed. Invariant: bytes already in `buf[0..end)` are never overwritten —
 * decoded columns may hold views of them — so compaction always moves the
 * unconsumed tail into a NEW buffer. Appends go into spare capacity of a buffer
 * this class allocated (never into a caller's chunk). Allocations never run more than
 * max(Limits.maxAllocAheadBytes, bytes pending) ahead of the bytes received: what a
 * reader says it will need is a hint bounded by what has arrived (see bounded()).
 */
export class StreamBuffer {
  buf: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;
  /** Absolute stream offset of buf[0]. */
  base = 0;
  private owned = false;
  private readonly alloc: (n: number) => Uint8Array;
  private readonly slab: number;
  /** The reader's latest need or estimate of how far it will need bytes (see reserve); -1: none. */
  private expectAbs = -1;
  /** Called when an owned buffer stops being the current one (it receives no more bytes). */
  onRetire: ((buf: Uint8Array) => void) | undefined;

  /**
   * `alloc` may return uninitialised memory (every byte is written before it is
   * read). `slab`: the smallest buffer to allocate; consecutive blocks then share
   * one allocation (fewer allocations, but a kept block keeps its whole slab).
   */
  constructor(alloc?: (n: number) => Uint8Array, slab = 64 * 1024) {
    this.alloc = alloc ?? ((n) => new Uint8Array(n));
    this.slab = slab;
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Absolute stream offset of `end`. */
  get absEnd(): number {
    return this.base + this.end;
  }

  /**
   * Append a chunk. With `adopt` (default) a chunk arriving when nothing is
   * pending becomes the buffer without a copy; pass false for a transient chunk
   * whose memory the caller reuses (it is then always copied).
   */
  push(chunk: Uint8Array, adopt = true): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.start === this.end && adopt) {
      // Nothing pending: adopt the caller's chunk without copying.
      if (this.owned) this.onRetire?.(this.buf);
      this.base += this.end;
      this.buf = chunk;
      this.start = 0;
      this.end = n;
      this.owned = false;
      return;
    }
    if (!this.owned || this.end + n > this.buf.length)
      // Keep every byte's offset modulo 8, so an alignment chosen by reserve() survives.
      this.moveTo(Math.max(64 * 1024, (this.end - this.start + n) * 2, this.expected() + 256 * 1024), (this.buf.byteOffset + this.start) % 8);
    this.buf.set(chunk, this.end);
    this.end += n;
  }

  /**
   * The reader will need bytes up to absolute offset `wantAbs`: make room for
   * them in one allocation (so they are copied once), placing absolute offset
   * `alignAbs` (if ≥ 0) at an 8-byte boundary for zero-copy TypedArray views.
   * `expectAbs` (if larger) is where the reader expects to need bytes up to in the
   * end: a buffer that must move anyway is sized for it, but an estimate alone never
   * causes a move.
   */
  reserve(wantAbs: number, alignAbs = -1, expectAbs = -1): void {
    // Kept so that a buffer that must grow later is sized for the need (bounded).
    this.expectAbs = Math.max(wantAbs, expectAbs);
    const pending = this.end - this.start;
    const need = wantAbs - (this.base + this.start);
    if (need <= pending) return;
    const misalign = alignAbs < 0 ? 0 : (this.buf.byteOffset + alignAbs - this.base) % 8;
    if (this.owned) {
      // Shift the pending bytes forward (≤ 7 bytes) inside this buffer when it has room:
      // they are not viewed by any decoded column yet, so moving them is safe.
      const s = misalign === 0 ? 0 : 8 - misalign;
      if (this.base + this.buf.length >= wantAbs + s) {
        if (s) {
          this.buf.copyWithin(this.start + s, this.start, this.end);
          this.start += s;
          this.end += s;
          this.base -= s;
        }
        return;
      }
    }
    const shift = alignAbs < 0 ? 0 : (((8 - ((alignAbs - (this.base + this.start)) % 8)) % 8) + 8) % 8;
    // Room for the wanted (or expected) bytes plus a read's worth of what follows.
    // The need is a declared size: bounded by the bytes received (hostile sizes allocate ≤ the cap).
    this.moveTo(Math.max(this.slab, this.expected() + shift + 256 * 1024), shift);
  }

  /**
   * Spare room of at least `min` bytes after the pending ones, for a reader
   * that writes incoming bytes in place (then calls commit). The room is in a
   * buffer this class owns; nothing else references it.
   */
  writable(min: number): Uint8Array {
    if (!this.owned || this.buf.length - this.end < min) {
      this.moveTo(Math.max(this.slab, min, (this.end - this.start) * 2 + min, this.expected() + 256 * 1024), (this.buf.byteOffset + this.start) % 8);
    }
    return this.buf.subarray(this.end);
  }

  /** Mark n bytes written into writable()'s room as received. */
  commit(n: number): void {
    this.end += n;
  }

  /** Bytes from the first pending one up to the reader's need or estimate (0 when none is ahead), bounded. */
  private expected(): number {
    return this.expectAbs > this.base + this.end ? this.bounded(this.expectAbs - (this.base + this.start)) : 0;
  }

  /**
   * `bytes` (counted from the first pending byte) capped at the pending bytes plus
   * max(Limits.maxAllocAheadBytes, pending): at most the cap ahead of what has arrived, and
   * geometric growth (amortised one extra copy per byte) for a body larger than the cap.
   */
  private bounded(bytes: number): number {
    const pending = this.end - this.start;
    return Math.min(bytes, pending + Math.max(Limits.maxAllocAheadBytes, pending));
  }

  /** Copy the pending bytes to a new buffer of `cap` bytes at offset `shift`. */
  private moveTo(cap: number, shift: number): void {
    const pending = this.end - this.start;
    const size = Math.max(cap, pending + shift);
    let next: Uint8Array;
    try {
      next = this.alloc(size);
    } catch (e) {
      // Sizes here are bounded by bytes received: this is the runtime's own limit.
      if (e instanceof RangeError) throw new LimitError(`cannot allocate a ${size}-byte inbound buffer: ${e.message}`);
      throw e;
    }
    next.set(this.buf.subarray(this.start, this.end), shift);
    if (this.owned) this.onRetire?.(this.buf);
    this.base += this.start - shift;
    this.buf = next;
    this.start = shift;
    this.end = shift + pending;
    this.owned = true;
  }

  /** A cursor over the unconsumed bytes. */
  cursor(): Cursor {
    return new Cursor(this.buf, this.start, this.end);
  }

  /** Mark bytes up to buf position `pos` consumed. */
  consumeTo(pos: number): void {
    this.start = pos;
    // An owned slab with room left keeps serving the next bytes.
    if (this.start === this.end && !(this.owned && this.buf.length - this.end >= 16 * 1024)) {
      // Drop the reference so a large consumed buffer can be collected.
      if (this.owned) this.onRetire?.(this.buf);
      this.base += this.end;
      this.buf = new Uint8Array(0);
      this.start = this.end = 0;
      this.owned = false;
    }
  }
}

import { Cursor } from './cursor.js';

/**
 * Accumulates inbound chunks for a resumable reader. Bytes before `start` are
 * consumed. Invariant: bytes already in `buf[0..end)` are never overwritten —
 * decoded columns may hold views of them — so compaction always moves the
 * unconsumed tail into a NEW buffer. Appends go into spare capacity of a buffer
 * this class allocated (never into a caller's chunk).
 */
export class StreamBuffer {
  buf: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;
  /** Absolute stream offset of buf[0]. */
  base = 0;
  private owned = false;

  get available(): number {
    return this.end - this.start;
  }

  /** Absolute stream offset of `end`. */
  get absEnd(): number {
    return this.base + this.end;
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.start === this.end) {
      // Nothing pending: adopt the caller's chunk without copying.
      this.base += this.end;
      this.buf = chunk;
      this.start = 0;
      this.end = n;
      this.owned = false;
      return;
    }
    if (!this.owned || this.end + n > this.buf.length) {
      const pending = this.end - this.start;
      let cap = Math.max(64 * 1024, (pending + n) * 2);
      if (this.owned && this.buf.length >= pending + n && this.start > this.buf.length / 2) cap = this.buf.length;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(this.start, this.end));
      this.base += this.start;
      this.buf = next;
      this.end = pending;
      this.start = 0;
      this.owned = true;
    }
    this.buf.set(chunk, this.end);
    this.end += n;
  }

  /** A cursor over the unconsumed bytes. */
  cursor(): Cursor {
    return new Cursor(this.buf, this.start, this.end);
  }

  /** Mark bytes up to buf position `pos` consumed. */
  consumeTo(pos: number): void {
    this.start = pos;
    if (this.start === this.end) {
      // Drop the reference so a large consumed buffer can be collected.
      this.base += this.end;
      this.buf = new Uint8Array(0);
      this.start = this.end = 0;
      this.owned = false;
    }
  }
}

/**
 * Hands inbound buffers (slabs) out again once nothing decoded from them can
 * still be in use — an opt-in for streaming consumers that finish with each
 * block before asking for the next (then memory stays flat and the garbage
 * collector has nothing to do). Invariants: a slab is reused only when it is
 * retired (receives no more bytes), no block in progress touches it, and every
 * block decoded from it was released; a slab under a block that will never be
 * released ("pinned") is never reused.
 */
export class SlabRecycler {
  private readonly free: Uint8Array[] = [];
  private readonly state = new Map<Uint8Array, { refs: number; retired: boolean; pinned: boolean }>();
  /** Slabs holding bytes of the block being decoded. */
  private touched = new Set<Uint8Array>();
  private readonly held = new Map<object, Uint8Array[]>();

  private freeBytes = 0;

  /**
   * Slabs are whole multiples of `size` (so one freed for a large column fits the
   * same column of the next block); at most `maxFreeBytes` wait for reuse.
   */
  constructor(
    private readonly alloc: (n: number) => Uint8Array,
    private readonly size: number,
    private readonly maxFreeBytes = 16 * size,
  ) {}

  /** A slab of at least n bytes (allocator for a StreamBuffer). */
  take = (n: number): Uint8Array => {
    // Smallest free slab that fits (the list is short).
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const len = this.free[i]!.length;
      if (len >= n && (best < 0 || len < this.free[best]!.length)) best = i;
    }
    let s: Uint8Array;
    if (best >= 0) {
      s = this.free.splice(best, 1)[0]!;
      this.freeBytes -= s.length;
    } else s = this.alloc(Math.ceil(Math.max(n, 1) / this.size) * this.size);
    this.state.set(s, { refs: 0, retired: false, pinned: false });
    this.touched.add(s);
    return s;
  };

  /** The StreamBuffer stopped writing into this slab. */
  retire = (s: Uint8Array): void => {
    const st = this.state.get(s);
    if (!st) return;
    st.retired = true;
    this.maybeFree(s);
  };

  /** A block starts in `current` (the buffer its bytes arrive in). */
  blockStart(current: Uint8Array): void {
    this.touched = new Set(this.state.has(current) ? [current] : []);
  }

  /**
   * The block is complete. Tracked blocks must later be release()d; untracked
   * ones pin their slabs (never reused: they are left to the garbage collector).
   */
  blockEnd(block: object, current: Uint8Array, tracked: boolean): void {
    if (this.state.has(current)) this.touched.add(current);
    const slabs = [...this.touched].filter((s) => this.state.has(s));
    this.touched = new Set();
    for (const s of slabs) {
      const st = this.state.get(s)!;
      if (tracked) st.refs++;
      else st.pinned = true;
    }
    if (tracked) this.held.set(block, slabs);
    for (const s of slabs) this.maybeFree(s);
  }

  /** The consumer is done with a tracked block. */
  release(block: object): void {
    const slabs = this.held.get(block);
    if (!slabs) return;
    this.held.delete(block);
    for (const s of slabs) {
      const st = this.state.get(s);
      if (st) st.refs--;
      this.maybeFree(s);
    }
  }

  /** The request is over: every tracked block is released. */
  releaseAll(): void {
    for (const b of [...this.held.keys()]) this.release(b);
  }

  private maybeFree(s: Uint8Array): void {
    const st = this.state.get(s);
    if (!st || !st.retired || st.refs > 0 || this.touched.has(s)) return;
    this.state.delete(s);
    if (st.pinned || this.freeBytes + s.length > this.maxFreeBytes) return;
    this.free.push(s);
    this.freeBytes += s.length;
  }
}

// StreamBuffer invariants: bytes a decoded column may view are never overwritten;
// reserve() aligns a fixed-width body at an 8-byte boundary; in-place reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamBuffer } from '../src/core/io/stream-buffer.js';

test('reserve aligns the requested absolute offset and keeps every pending byte', () => {
  for (const slab of [64, 64 * 1024, 4 << 20]) {
    for (let misalign = 0; misalign < 8; misalign++) {
      const b = new StreamBuffer(undefined, slab);
      const head = Uint8Array.from({ length: 10 + misalign }, (_, i) => i + 1);
      b.push(head, false);
      const alignAbs = b.base + b.start + 10 + misalign - 3;
      b.reserve(alignAbs + 1000, alignAbs);
      assert.equal((b.buf.byteOffset + alignAbs - b.base) % 8, 0, `slab ${slab} misalign ${misalign}`);
      assert.deepEqual(Array.from(b.buf.subarray(b.start, b.end)), Array.from(head));
      assert.ok(b.base + b.buf.length >= alignAbs + 1000, 'room for the wanted bytes');
      // Later pushes keep the alignment.
      b.push(new Uint8Array(2000).fill(7), false);
      assert.equal((b.buf.byteOffset + alignAbs - b.base) % 8, 0);
    }
  }
});

test('bytes before start (viewed by decoded columns) are never overwritten', () => {
  const b = new StreamBuffer(undefined, 4096);
  b.push(new Uint8Array(100).fill(1), false);
  const view = b.buf.subarray(b.start, b.start + 100); // a "decoded column"
  b.consumeTo(b.start + 100);
  for (let i = 0; i < 50; i++) {
    b.push(Uint8Array.from({ length: 37 }, (_, k) => (i + k) & 0xff), false);
    b.reserve(b.base + b.end + 5000, b.base + b.end - 3);
    const w = b.writable(64);
    w.fill(9);
    b.commit(10);
    b.consumeTo(b.end);
  }
  assert.ok(view.every((x) => x === 1), 'the early view still holds its bytes');
});

test('writable/commit read in place, alignment preserved when the buffer moves', () => {
  const b = new StreamBuffer(undefined, 128);
  let abs = 0;
  for (let i = 0; i < 40; i++) {
    const w = b.writable(100);
    for (let k = 0; k < 100; k++) w[k] = (abs + k) & 0xff;
    b.commit(100);
    abs += 100;
  }
  const all = b.buf.subarray(b.start, b.end);
  assert.equal(all.length, 4000);
  for (let k = 0; k < 4000; k++) assert.equal(all[k], k & 0xff);
});

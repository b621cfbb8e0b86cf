import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cursor } from '../src/core/io/cursor.js';
import { Writer, concatBytes } from '../src/core/io/writer.js';
import { isNeedMore } from '../src/core/errors.js';
import {
  CLIENT_REVISION,
  Dechunker,
  decodeServerPacket,
  encodeChunked,
  encodeChunkedBytes,
  encodeEndOfStream,
  encodePong,
  encodeProgress,
} from '../src/core/protocol/index.js';

test('Ping becomes [1][0x04][0] when chunked', () => {
  assert.deepEqual([...encodeChunkedBytes(new Uint8Array([4]))], [1, 0, 0, 0, 4, 0, 0, 0, 0]);
});

test('every split of a chunked stream yields the same packets', () => {
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < 3; i++) {
    const w = new Writer(16);
    encodeProgress(w, { rows: i * 1000, bytes: 300 + i, totalRows: 7, totalBytes: 0, writtenRows: 0, writtenBytes: 0, elapsedNs: 5 }, CLIENT_REVISION);
    msgs.push(w.toBytes());
  }
  msgs.push(new Uint8Array([4]));
  const w = new Writer(4);
  encodeEndOfStream(w);
  msgs.push(w.toBytes());
  // Small chunks so that splits fall inside packet codes and varuints.
  const stream = concatBytes(msgs.map((m) => encodeChunkedBytes(m, 2)));
  const plainExpected = concatBytes(msgs);
  for (let a = 0; a <= stream.length; a++) {
    for (const b of [a, Math.min(stream.length, a + 1), Math.min(stream.length, a + 7)]) {
      const d = new Dechunker();
      const out = [...d.push(stream.subarray(0, a)), ...d.push(stream.subarray(a, b)), ...d.push(stream.subarray(b))];
      assert.deepEqual(concatBytes(out.length ? out : [new Uint8Array(0)]), plainExpected);
      assert.equal(d.messagesEnded, msgs.length);
      assert.ok(d.atBoundary);
    }
  }
  // Decode the de-chunked stream packet by packet, feeding byte by byte.
  const d = new Dechunker();
  let buf: Uint8Array = new Uint8Array(0);
  const types: string[] = [];
  for (let i = 0; i < stream.length; i++) {
    for (const part of d.push(stream.subarray(i, i + 1))) buf = concatBytes([buf, part]);
    for (;;) {
      const c = new Cursor(buf);
      try {
        types.push(decodeServerPacket(c, CLIENT_REVISION).type);
      } catch (e) {
        if (isNeedMore(e)) break;
        throw e;
      }
      buf = buf.subarray(c.pos);
    }
  }
  assert.deepEqual(types, ['Progress', 'Progress', 'Progress', 'Pong', 'EndOfStream']);
});

test('encodeChunked keeps payload views and splits at maxChunk', () => {
  const payload = new Uint8Array(10).map((_, i) => i);
  const parts = encodeChunked([payload.subarray(0, 3), payload.subarray(3)], 4);
  const sizes = parts.filter((_, i) => i % 2 === 0).map((h) => h[0]);
  assert.deepEqual(sizes, [3, 4, 3, 0]);
  const w = new Writer(4);
  encodePong(w);
  assert.deepEqual([...encodeChunkedBytes(w.finish())], [1, 0, 0, 0, 4, 0, 0, 0, 0]);
});

test('a lone terminator is tolerated as an empty message', () => {
  const d = new Dechunker();
  assert.deepEqual(d.push(new Uint8Array([0, 0, 0, 0, 1, 0, 0, 0, 5, 0, 0, 0, 0])).map((b) => [...b]), [[5]]);
  assert.equal(d.messagesEnded, 2);
});

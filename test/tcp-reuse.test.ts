// reuse_buffers: block-by-block consumers get correct data in every block while inbound buffers
// are recycled; without it, blocks kept by the caller stay intact. Against the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from '../src/index.js';
import { serverTestFile } from './helpers/server.js';

const file = serverTestFile();
const { unhandled } = file;
const url = () => `clickhouse://${file.server()!.host}:${file.server()!.tcpPort}`;

for (const compression of ['none', 'lz4'] as const) {
  test(`reuse_buffers (${compression}): every block is correct when consumed`, async (t) => {
    const srv = file.server();
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url(), compression });
    try {
      let next = 0n;
      let blocks = 0;
      const rs = await c.query({
        query: 'SELECT number AS n, toString(number) AS s, number * 2 AS d FROM system.numbers LIMIT 3000000',
        clickhouse_settings: { max_block_size: 40000 },
        reuse_buffers: true,
      });
      for await (const b of rs) {
        const n = b.columns[0]!.toArray() as BigUint64Array;
        const s = b.columns[1]!.toArray() as string[];
        const d = b.columns[2]!.toArray() as BigUint64Array;
        for (let i = 0; i < n.length; i++) {
          if (n[i] !== next || s[i] !== String(next) || d[i] !== next * 2n) assert.fail(`block ${blocks} row ${i}: ${n[i]} ${s[i]} ${d[i]}, expected ${next}`);
          next++;
        }
        blocks++;
        // Now and then a slow consumer: blocks queue up (and their buffers must not be reused yet).
        if (blocks % 8 === 0) await new Promise((r) => setTimeout(r, 15));
      }
      assert.equal(next, 3000000n);
      assert.ok(blocks >= 60, `${blocks} blocks`);
    } finally {
      await c.close();
    }
  });
}

/** Inbound buffers allocated (the Node transport allocates them with Buffer.allocUnsafeSlow). */
async function countAllocations(reuse: boolean): Promise<{ rows: number; allocations: number }> {
  const original = Buffer.allocUnsafeSlow;
  let allocations = 0;
  Buffer.allocUnsafeSlow = (n: number) => {
    allocations++;
    return original(n);
  };
  const c = createClient({ url: url() });
  try {
    await c.ping();
    allocations = 0;
    let rows = 0;
    for await (const b of await c.query({ query: 'SELECT number FROM system.numbers LIMIT 50000000', reuse_buffers: reuse }))
      rows += b.columns[0]!.toArray().length;
    return { rows, allocations };
  } finally {
    Buffer.allocUnsafeSlow = original;
    await c.close();
  }
}

test('reuse_buffers recycles inbound buffers: 400 MB stream through a handful of allocations', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const reused = await countAllocations(true);
  const fresh = await countAllocations(false);
  assert.equal(reused.rows, 50000000);
  assert.equal(fresh.rows, 50000000);
  // Without reuse every MiB gets a new buffer; with it, the free list serves almost all of them.
  assert.ok(fresh.allocations > 300, `without reuse: ${fresh.allocations} allocations`);
  assert.ok(reused.allocations < 40, `with reuse: ${reused.allocations} allocations`);
});

test('without reuse_buffers, blocks kept by the caller stay intact', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: url() });
  try {
    const kept: BigUint64Array[] = [];
    for await (const b of await c.query({ query: 'SELECT number FROM system.numbers LIMIT 2000000', clickhouse_settings: { max_block_size: 50000 } }))
      kept.push(b.columns[0]!.toArray() as BigUint64Array);
    let next = 0n;
    for (const a of kept) for (const x of a) assert.equal(x, next++);
    assert.equal(next, 2000000n);
  } finally {
    await c.close();
  }
});

test('reuse_buffers: leaving the loop early cancels, and the connection serves the next query', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: url(), max_open_connections: 1 });
  try {
    let seen = 0;
    for await (const b of await c.query({ query: 'SELECT number FROM system.numbers', reuse_buffers: true })) {
      seen += b.rowCount;
      if (seen > 1_000_000) break;
    }
    const rows = await (await c.query({ query: 'SELECT 42 AS x' })).json();
    assert.deepEqual(rows, [{ x: 42 }]);
  } finally {
    await c.close();
  }
});

test('fixed-width columns arrive as zero-copy views of the inbound buffer, also right after a String column', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  for (const reuse of [false, true]) {
    const c = createClient({ url: url() });
    try {
      let views = 0;
      let large = 0;
      let next = 0n;
      const rs = await c.query({
        query: 'SELECT toString(number) AS s, number AS n, number * 3 AS t FROM system.numbers LIMIT 2000000',
        clickhouse_settings: { max_block_size: 65536 },
        reuse_buffers: reuse,
      });
      for await (const b of rs) {
        const n = b.columns[1]!.toArray() as BigUint64Array;
        const t3 = b.columns[2]!.toArray() as BigUint64Array;
        for (let i = 0; i < n.length; i++) if (n[i] !== next + BigInt(i) || t3[i] !== (next + BigInt(i)) * 3n) assert.fail(`row ${next + BigInt(i)}`);
        next += BigInt(n.length);
        if (b.rowCount < 10000) continue;
        large++;
        // A copy would own a buffer of exactly its size; a view lives inside a larger slab.
        for (const a of [n, t3]) if (a.buffer.byteLength > a.byteLength && a.byteOffset % 8 === 0) views++;
      }
      assert.equal(next, 2000000n);
      assert.ok(large >= 20, `${large} large blocks`);
      assert.equal(views, 2 * large, `reuse_buffers=${reuse}: ${views} of ${2 * large} columns were views`);
    } finally {
      await c.close();
    }
  }
});

test('no unhandled rejections', () => assert.deepEqual(unhandled, []));

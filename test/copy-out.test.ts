// Row helpers (json/rows/rowBatches/stream/columns) copy every value out of a block before asking for the next, so
// over TCP they let the transport recycle inbound buffers (no reuse_buffers needed). These tests
// prove the values stay exact while buffers are recycled, that recycling happens, and that it does
// not happen where values are views of the received bytes. Over TCP and HTTP, against the real server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type ClientOptions } from '../src/index.js';
import { serverTestFile } from './helpers/server.js';

const file = serverTestFile();
const { unhandled } = file;
const url = () => `clickhouse://${file.server()!.host}:${file.server()!.tcpPort}`;
const httpUrl = () => `http://${file.server()!.host}:${file.server()!.httpPort}`;

const ROWS = 600_000;
const QUERY =
  `SELECT number AS n, concat('item-', toString(number), '-', substring('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 1, number % 40)) AS s, ` +
  `[number, number + 1] AS a, if(number % 3 = 0, NULL, toString(number)) AS m FROM system.numbers LIMIT ${ROWS}`;
const SETTINGS = { max_block_size: 20000 };

function checkRow(r: Record<string, unknown>, i: number): void {
  const n = BigInt(i);
  const s = `item-${i}-${'x'.repeat(i % 40)}`;
  const a = r.a as bigint[];
  if (r.n !== n || r.s !== s || a.length !== 2 || a[0] !== n || a[1] !== n + 1n || r.m !== (i % 3 === 0 ? null : String(i)))
    assert.fail(`row ${i}: ${JSON.stringify(r, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`);
}

/** Run fn while counting inbound buffer allocations (the Node transport uses Buffer.allocUnsafeSlow). */
async function counting<T>(fn: () => Promise<T>): Promise<{ value: T; allocations: number }> {
  const original = Buffer.allocUnsafeSlow;
  let allocations = 0;
  Buffer.allocUnsafeSlow = (n: number) => {
    allocations++;
    return original(n);
  };
  try {
    const value = await fn();
    return { value, allocations };
  } finally {
    Buffer.allocUnsafeSlow = original;
  }
}

async function withClient<T>(opts: Partial<ClientOptions>, fn: (c: ReturnType<typeof createClient>) => Promise<T>): Promise<T> {
  const c = createClient({ url: url(), ...opts } as ClientOptions);
  try {
    await c.ping();
    return await fn(c);
  } finally {
    await c.close();
  }
}

for (const compression of ['none', 'lz4'] as const) {
  test(`json() (${compression}): exact values from ${ROWS} rows while buffers are recycled`, async (t) => {
    const srv = file.server();
    if (!srv) return t.skip('no ClickHouse server');
    const rows = await withClient({ compression }, async (c) => (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).json<Record<string, unknown>>());
    assert.equal(rows.length, ROWS);
    rows.forEach(checkRow);
  });
}

test('row helpers recycle: inbound buffer allocations stay bounded, not proportional to the result', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  // ≈ 100 MB arrive. At most HIGH_WATER_EVENTS blocks (of ≈ 0.3 MB here) wait ahead of the consumer,
  // so recycled buffers number a handful whatever the machine's speed; fresh ones one per MiB.
  const q = { query: 'SELECT number AS n, toString(number) AS s FROM system.numbers LIMIT 6000000', clickhouse_settings: SETTINGS };
  const recycled = await withClient({}, (c) =>
    counting(async () => {
      let n = 0;
      for await (const r of (await c.query(q)).rows<{ n: bigint; s: string }>()) if (r.n === BigInt(n) && r.s === String(n)) n++;
      return n;
    }),
  );
  assert.equal(recycled.value, 6000000);
  const batched = await withClient({}, (c) =>
    counting(async () => {
      let n = 0;
      for await (const b of (await c.query(q)).rowBatches<{ n: bigint; s: string }>()) for (const r of b) if (r.n === BigInt(n) && r.s === String(n)) n++;
      return n;
    }),
  );
  assert.equal(batched.value, 6000000);
  assert.ok(batched.allocations < 40, `rowBatches(): ${batched.allocations} buffer allocations`);
  const fresh = await withClient({}, (c) =>
    counting(async () => {
      let n = 0;
      // Block iteration without reuse_buffers: blocks may be kept, so nothing is recycled.
      for await (const b of await c.query(q)) n += b.rowCount;
      return n;
    }),
  );
  assert.equal(fresh.value, 6000000);
  assert.ok(fresh.allocations >= 80, `without recycling: ${fresh.allocations} buffer allocations`);
  assert.ok(recycled.allocations < 40, `with recycling: ${recycled.allocations} buffer allocations`);
});

test('rows() with a slow consumer: exact values while buffers are recycled', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  await withClient({}, async (c) => {
    let i = 0;
    for await (const r of (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).rows<Record<string, unknown>>()) {
      checkRow(r, i++);
      // Now and then the consumer is slow: blocks queue up behind it (their buffers must wait).
      if (i % 50_000 === 0) await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(i, ROWS);
  });
});

for (const [label, opts] of [
  ['TCP', {}],
  ['TCP lz4', { compression: 'lz4' }],
  ['HTTP', { url: 'http' }],
] as const) {
  test(`${label}: rowBatches() and stream() with slow consumers, and rows kept from earlier batches, stay exact while buffers are recycled`, async (t) => {
    const srv = file.server();
    if (!srv) return t.skip('no ClickHouse server');
    await withClient({ ...opts, url: 'url' in opts ? httpUrl() : url() }, async (c) => {
      const kept: Record<string, unknown>[] = [];
      let i = 0;
      for await (const batch of (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).rowBatches<Record<string, unknown>>()) {
        for (const r of batch) {
          checkRow(r, i);
          if (i % 1000 === 0) kept.push(r);
          i++;
          if (i % 50_000 === 0) await new Promise((res) => setTimeout(res, 20));
        }
      }
      assert.equal(i, ROWS);
      kept.forEach((r, k) => checkRow(r, k * 1000));
      let j = 0;
      for await (const r of (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).stream() as AsyncIterable<Record<string, unknown>>) {
        checkRow(r, j++);
        if (j % 50_000 === 0) await new Promise((res) => setTimeout(res, 20));
      }
      assert.equal(j, ROWS);
    });
  });
}

test('columns(): exact values while buffers are recycled', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const cols = await withClient({}, async (c) => (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).columns());
  assert.deepEqual(Object.keys(cols), ['n', 's', 'a', 'm']);
  for (let i = 0; i < ROWS; i++) checkRow({ n: cols.n![i], s: cols.s![i], a: cols.a![i], m: cols.m![i] }, i);
});

test("strings: 'bytes' and arrays: 'typed' keep their byte views intact (no recycling)", async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const rows = await withClient({ strings: 'bytes', arrays: 'typed' }, async (c) =>
    (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).json<Record<string, unknown>>(),
  );
  const dec = new TextDecoder();
  rows.forEach((r, i) => {
    const a = r.a as BigUint64Array;
    checkRow({ ...r, s: dec.decode(r.s as Uint8Array), m: r.m === null ? null : dec.decode(r.m as Uint8Array), a: [...a] }, i);
  });
});

test('AggregateFunction states (byte views) stay intact in json()', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  await withClient({}, async (c) => {
    const q = 'SELECT number AS k, uniqState(number) AS st FROM (SELECT number FROM system.numbers LIMIT 200000) GROUP BY number ORDER BY number';
    const rows = await (await c.query({ query: q, clickhouse_settings: { max_block_size: 5000 } })).json<{ k: bigint; st: Uint8Array }>();
    assert.equal(rows.length, 200000);
    // Each state is the same shape; compare with a fresh, block-by-block copy of the same result.
    const copies: Uint8Array[] = [];
    for await (const b of await c.query({ query: q, clickhouse_settings: { max_block_size: 5000 } })) {
      const st = b.columns[1]!.toArray() as Uint8Array[];
      for (const s of st) copies.push(s.slice());
    }
    rows.forEach((r, i) => assert.deepEqual(r.st, copies[i], `row ${i}`));
  });
});

test('HTTP: json(), rows() with a slow consumer, and columns() give exact values while buffers are recycled', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  await withClient({ url: httpUrl() }, async (c) => {
    const rows = await (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).json<Record<string, unknown>>();
    assert.equal(rows.length, ROWS);
    rows.forEach(checkRow);
    let i = 0;
    for await (const r of (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).rows<Record<string, unknown>>()) {
      checkRow(r, i++);
      if (i % 50_000 === 0) await new Promise((res) => setTimeout(res, 20));
    }
    assert.equal(i, ROWS);
    const cols = await (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).columns();
    for (let k = 0; k < ROWS; k++) checkRow({ n: cols.n![k], s: cols.s![k], a: cols.a![k], m: cols.m![k] }, k);
  });
});

test("HTTP: strings: 'bytes' views stay intact", async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const rows = await withClient({ url: httpUrl(), strings: 'bytes' }, async (c) =>
    (await c.query({ query: QUERY, clickhouse_settings: SETTINGS })).json<Record<string, unknown>>(),
  );
  const dec = new TextDecoder();
  rows.forEach((r, i) => checkRow({ ...r, s: dec.decode(r.s as Uint8Array), m: r.m === null ? null : dec.decode(r.m as Uint8Array) }, i));
});

test('no unhandled rejections', () => assert.deepEqual(unhandled, []));

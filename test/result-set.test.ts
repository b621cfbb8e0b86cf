// ResultSet's row helpers end their query in every way a reader can leave: before the first
// row, in the middle (also while a block is still awaited), and when making a row fails. Real
// server over TCP and HTTP with a one-connection pool: a leaked connection shows as the next
// query waiting. The failure of a row's value cannot be produced by a healthy server, so that
// part drives a ResultSet directly with a column whose reader throws.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { createClient, ResultSet, ClientError, type Block, type Column } from '../src/index.js';
import { serverTestFile } from './helpers/server.js';

const file = serverTestFile();
const { unhandled } = file;

const ENDLESS = 'SELECT number AS n FROM system.numbers';
const leaves: [string, (rs: ResultSet & { stream(): unknown }) => Promise<void>][] = [
  ['stream() destroyed before reading', async (rs) => {
    const s = rs.stream() as Readable;
    s.destroy();
    await new Promise((r) => s.once('close', r));
  }],
  ['rows().return() before next()', async (rs) => void (await rs.rows().return!())],
  ['rowBatches().return() before next()', async (rs) => void (await rs.rowBatches().return!())],
  ['close() before reading', (rs) => rs.close()],
  ['close() while iterating blocks', async (rs) => {
    for await (const _ of rs) {
      await rs.close();
    }
  }],
  ['rows().return() while a block is awaited (server sleeping)', async () => undefined],
];

for (const over of ['tcp', 'http'] as const) {
  test(`${over}: every early exit gives the connection back at once`, async (t) => {
    const srv = file.server();
    if (!srv) return t.skip('no ClickHouse server');
    const url = over === 'tcp' ? `clickhouse://${srv.host}:${srv.tcpPort}` : `http://${srv.host}:${srv.httpPort}`;
    const c = createClient({ url, max_open_connections: 1, request_timeout: 20_000 });
    try {
      for (const [label, leave] of leaves) {
        const t0 = Date.now();
        if (label.startsWith('rows().return() while')) {
          // Over HTTP this server buffers the response: all four blocks arrive together at the end.
          if (over === 'http') continue;
          // One row per block, three seconds apart: return() must not wait for the next block.
          const rs = await c.query({ query: 'SELECT sleep(3) AS s FROM numbers(4)', clickhouse_settings: { max_block_size: 1, max_threads: 1 } });
          const it = rs.rows();
          assert.deepEqual(await it.next(), { value: { s: 0 }, done: false });
          const pending = it.next();
          await new Promise((r) => setTimeout(r, 200));
          const t1 = Date.now();
          assert.deepEqual(await it.return!(), { value: undefined, done: true });
          assert.ok(Date.now() - t1 < 2000, `${label}: return() took ${Date.now() - t1} ms`);
          assert.deepEqual(await pending, { value: undefined, done: true }, `${label}: the waiting next() ends quietly`);
          assert.deepEqual(await it.next(), { value: undefined, done: true });
        } else await leave((await c.query({ query: ENDLESS })) as ResultSet & { stream(): unknown });
        const t2 = Date.now();
        assert.deepEqual(await (await c.query({ query: 'SELECT 7 AS x' })).json(), [{ x: 7 }], label);
        assert.ok(Date.now() - t2 < 5000, `${label}: the next query waited ${Date.now() - t2} ms`);
        assert.ok(Date.now() - t0 < 8000, label);
      }
    } finally {
      await c.close();
    }
  });
}

test('close() while json() collects makes json() reject instead of returning a cut-short result', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}`, max_open_connections: 1 });
  try {
    const rs = await c.query({ query: 'SELECT sleep(1) AS s FROM numbers(3)', clickhouse_settings: { max_block_size: 1, max_threads: 1 } });
    const all = rs.json();
    await new Promise((r) => setTimeout(r, 300));
    await rs.close();
    await assert.rejects(all, (e: unknown) => e instanceof ClientError && e.code === 'CHWIRE_RESULT_CLOSED');
    assert.deepEqual(await (await c.query({ query: 'SELECT 9 AS x' })).json(), [{ x: 9 }]);
  } finally {
    await c.close();
  }
});

test('repeated column names get suffixes that are no other column’s name', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
  const warn = console.warn;
  console.warn = () => undefined;
  try {
    const sql = "SELECT x, x, 'real x_1' AS x_1 FROM (SELECT 'first' AS x)";
    assert.deepEqual(await (await c.query({ query: sql })).json(), [{ x: 'first', x_2: 'first', x_1: 'real x_1' }]);
    assert.deepEqual(await (await c.query({ query: sql })).columns(), { x: ['first'], x_2: ['first'], x_1: ['real x_1'] });
  } finally {
    console.warn = warn;
    await c.close();
  }
});

test("a column named '__proto__' is an own key of each row, never the prototype", async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
  try {
    const sql = 'SELECT 1 AS `__proto__`, 2 AS b';
    const rows = [...(await (await c.query({ query: sql })).json())];
    for await (const r of (await c.query({ query: sql })).rows()) rows.push(r);
    for await (const batch of (await c.query({ query: sql })).rowBatches()) rows.push(...batch);
    assert.equal(rows.length, 3);
    for (const r of rows as Record<string, unknown>[]) {
      assert.equal(Object.getPrototypeOf(r), Object.prototype);
      assert.deepEqual(Object.entries(r), [['__proto__', 1], ['b', 2]]);
    }
  } finally {
    await c.close();
  }
});

test('a batch refuses rows it does not have', async (t) => {
  const srv = file.server();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
  try {
    for await (const b of (await c.query({ query: 'SELECT number AS n FROM numbers(5)' })).rowBatches<{ n: bigint }>()) {
      assert.equal(b.length, 5);
      assert.equal(b.row(4).n, 4n);
      for (const i of [5, -1, 1.5, NaN]) assert.throws(() => b.row(i), (e: unknown) => e instanceof ClientError && e.code === 'CHWIRE_ROW_OUT_OF_RANGE');
    }
  } finally {
    await c.close();
  }
});

/** A ResultSet over blocks whose column `v` fails on row 1; `ended` tells whether the query was ended. */
function failingResult(): { rs: ResultSet; ended: () => boolean } {
  let ended = false;
  const column = (name: string, f: (i: number) => unknown): Column => ({
    name,
    type: 'UInt8',
    length: 3,
    get: f,
    reader: () => f,
    toArray: () => [0, 1, 2].map(f),
  });
  const block: Block = {
    rowCount: 3,
    columns: [
      column('n', (i) => i),
      column('v', (i) => {
        if (i === 1) throw new RangeError('cannot make this value');
        return i;
      }),
    ],
  };
  let k = 0;
  const events: AsyncIterator<never> = {
    next: async () => (k++ < 3 ? { value: { type: 'data', block } as never, done: false } : { value: undefined, done: true }),
    return: async () => {
      ended = true;
      return { value: undefined, done: true };
    },
  };
  return { rs: new ResultSet(events, undefined, 'q', 'object'), ended: () => ended };
}

test('a row that cannot be made fails the reader and ends the query (rows, rowBatches, stream, json)', async () => {
  {
    const { rs, ended } = failingResult();
    const seen: unknown[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of rs.rows()) seen.push(r);
      })(),
      /cannot make this value/,
    );
    assert.deepEqual(seen, [{ n: 0, v: 0 }]);
    assert.ok(ended(), 'rows(): query ended');
  }
  {
    const { rs, ended } = failingResult();
    await assert.rejects(
      (async () => {
        for await (const b of rs.rowBatches()) for (const _ of b);
      })(),
      /cannot make this value/,
    );
    assert.ok(ended(), 'rowBatches(): query ended');
  }
  {
    const { rs, ended } = failingResult();
    const { rowStream } = await import('../src/client/result-set.js');
    const s = rowStream(rs) as Readable;
    const err = await new Promise<Error>((resolve) => {
      s.on('data', () => undefined);
      s.once('error', resolve);
    });
    assert.match(err.message, /cannot make this value/);
    await new Promise((r) => setImmediate(r));
    assert.ok(ended(), 'stream(): query ended');
  }
  {
    const { rs, ended } = failingResult();
    await assert.rejects(rs.json(), /cannot make this value/);
    assert.ok(ended(), 'json(): query ended');
  }
});

test('no unhandled rejections', () => assert.deepEqual(unhandled, []));

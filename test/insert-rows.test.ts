// insert({ values }) row handling against the real 18.16 server: the insert's columns (union of an
// array's keys; the table's for an iterable), keys outside the columns and missing keys are errors
// naming the row, row numbers count from the start of the whole input (not the batch), an array
// inserts nothing when any row is bad, an iterable's error tells which rows were already inserted,
// non-iterable `values` is a ClientError, and integer strings are strict.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ClientError, ClickHouseError, EncodeError, encodeNative, type ClickHouseClient } from '../src/index.js';
import { serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

const leaks = watchLeaks();
const uniq = `${process.pid}_${Date.now() % 1e6}`;

async function* rowsOf<T>(rows: T[]): AsyncGenerator<T> {
  for (const r of rows) yield r;
}

/** Asserts an EncodeError with `code` whose message matches every pattern; returns it. */
async function encodeError(p: Promise<unknown>, code: string, ...patterns: RegExp[]): Promise<EncodeError & { rowsSent?: number }> {
  let err: unknown;
  await assert.rejects(p, (e: unknown) => {
    err = e;
    return true;
  });
  assert.ok(err instanceof EncodeError, `not an EncodeError: ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const re of patterns) assert.match(err.message, re);
  return err as EncodeError & { rowsSent?: number };
}

describe('insert rows against ClickHouse 18.16', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  let client: ClickHouseClient;
  const tables: string[] = [];
  const table = async (name: string, cols: string) => {
    const tb = `default.chwire_rows_${name}_${uniq}`;
    tables.push(tb);
    await serverExec(`DROP TABLE IF EXISTS ${tb}; CREATE TABLE ${tb} (${cols}) ENGINE = Memory`);
    return tb;
  };
  before(async () => {
    srv = await testServer();
    if (srv) client = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
  });
  after(async () => {
    if (!srv) return;
    await client.close();
    if (tables.length) await serverExec(tables.map((t) => `DROP TABLE IF EXISTS ${t}`).join('; '));
    await leaks.assertNone();
  });

  test('an array inserts the union of its rows’ keys; a missing Nullable key is NULL', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('union', 'id UInt32, email String, score Nullable(UInt8)');
    await client.insert({ table: tb, values: [{ id: 1, email: 'a' }, { id: 2, email: 'b', score: 9 }, { email: 'c', score: 7, id: 3 }] });
    assert.deepEqual(await serverQuery(`SELECT id, email, score FROM ${tb} ORDER BY id`), [
      [1, 'a', null],
      [2, 'b', 9],
      [3, 'c', 7],
    ]);
  });

  test('an array row missing a key of a non-Nullable column is an error naming row and column; nothing is inserted', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('missing', 'id UInt32, email String, score Nullable(UInt8)');
    // The first row lacks `email`: it used to set the columns and drop the others' emails.
    await encodeError(client.insert({ table: tb, values: [{ id: 1 }, { id: 2, email: 'b@x.io', score: 9 }] }), 'CHWIRE_BAD_ROW', /\brow 0\b/, /"email"/);
    await encodeError(client.insert({ table: tb, values: [{ id: 1, email: 'a' }, { id: 2, email: 'b' }, { id: 3 }] }), 'CHWIRE_BAD_ROW', /\brow 2\b/, /"email"/);
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['0']]);
  });

  test('a key outside the insert’s columns is an error, never dropped', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('extra', 'id UInt32, email String');
    // Explicit columns: the row's other key is named.
    await encodeError(
      client.insert({ table: tb, columns: ['id', 'email'], values: [{ id: 1, email: 'a' }, { id: 2, email: 'b', extra: 'x' }] }),
      'CHWIRE_BAD_ROW',
      /\brow 1\b/,
      /"extra"/,
    );
    // Inferred columns: the union has the key, and the server refuses the unknown column.
    await assert.rejects(client.insert({ table: tb, values: [{ id: 1, email: 'a' }, { id: 2, email: 'b', extra: 'x' }] }), (e: unknown) => e instanceof ClickHouseError && /extra/.test(e.message));
    // An iterable is matched against the table's columns.
    await encodeError(client.insert({ table: tb, values: rowsOf([{ id: 1, email: 'a' }, { id: 2, email: 'b', extra: 'x' }]) }), 'CHWIRE_BAD_ROW', /\brow 1\b/, /"extra"/);
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['0']]);
  });

  test('an iterable: a missing key is NULL for a Nullable column, an error naming row and column otherwise', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('iter_missing', 'id UInt32, email String, score Nullable(UInt8)');
    await client.insert({ table: tb, values: rowsOf([{ id: 1, email: 'a' }, { id: 2, email: 'b', score: 5 }]) });
    await encodeError(client.insert({ table: tb, values: rowsOf([{ id: 3, email: 'c' }, { id: 4 }]) }), 'CHWIRE_BAD_ROW', /\brow 1\b/, /"email"/);
    assert.deepEqual(await serverQuery(`SELECT id, email, score FROM ${tb} ORDER BY id`), [
      [1, 'a', null],
      [2, 'b', 5],
    ]);
  });

  test('an array: a bad value in a later batch names its row in the whole input, and nothing is inserted', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('array_rownum', 'id UInt32');
    // The default batch (100 000 rows): the bad row is the 4th of the second batch.
    const values = Array.from({ length: 100_005 }, (_, i) => ({ id: i === 100_003 ? -1 : i }));
    const e = await encodeError(client.insert({ table: tb, values }), 'CHWIRE_BAD_VALUE', /"id" \(UInt32\) row 100003: -1 out of range/);
    assert.doesNotMatch(e.message, /already/);
    assert.equal(e.rowsSent, 0);
    // A missing key in a later batch too.
    const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}`, insert_batch_rows: 1000 });
    try {
      await encodeError(c.insert({ table: tb, values: Array.from({ length: 2500 }, (_, i) => (i === 2222 ? {} : { id: i })) }), 'CHWIRE_BAD_ROW', /\brow 2222\b/, /"id"/);
    } finally {
      await c.close();
    }
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['0']]);
  });

  for (const kind of ['tcp', 'http'] as const) {
    test(`an iterable (${kind}): a bad value in a later batch names its row and the rows already inserted`, async (t) => {
      if (!srv) return t.skip('no ClickHouse server');
      const tb = await table(`iter_rownum_${kind}`, 'id UInt32');
      const url = kind === 'tcp' ? `clickhouse://${srv.host}:${srv.tcpPort}` : `http://${srv.host}:${srv.httpPort}`;
      const c = createClient({ url, insert_batch_rows: 1000 });
      try {
        const rows = Array.from({ length: 2500 }, (_, i) => ({ id: i === 2003 ? -1 : i }));
        const e = await encodeError(c.insert({ table: tb, values: rowsOf(rows) }), 'CHWIRE_BAD_VALUE', /"id" \(UInt32\) row 2003: -1/, /rows 0–1999 were sent/, /over TCP they are inserted/);
        assert.equal(e.rowsSent, 2000);
        const [[count, max]] = (await serverQuery(`SELECT count(), max(id) FROM ${tb}`)) as [[string, number]];
        if (kind === 'tcp') assert.deepEqual([count, max], ['2000', 1999]);
        // Over HTTP the server may or may not have taken the body's first blocks before it broke off.
        else assert.ok(count === '0' || (Number(count) <= 2000 && Number(count) === max + 1), `${count} ${max}`);
      } finally {
        await c.close();
      }
    });
  }

  test('values that are not an array or iterable: ClientError CHWIRE_BAD_VALUES', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('bad_values', 'id UInt32');
    for (const values of ['abc', 42, { id: 1 }, true]) {
      for (const columns of [undefined, ['id']]) {
        await assert.rejects(
          client.insert({ table: tb, values: values as unknown as unknown[], ...(columns ? { columns } : {}) }),
          (e: unknown) => e instanceof ClientError && e.code === 'CHWIRE_BAD_VALUES' && /array or \(async\) iterable/.test(e.message),
          `${JSON.stringify(values)} columns=${String(columns)}`,
        );
      }
    }
    assert.deepEqual(await serverQuery(`SELECT count() FROM ${tb}`), [['0']]);
  });

  test('integer strings are strict: optional sign and digits, no 0x', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const tb = await table('int_strings', 'i Int32, u UInt64, h Int16');
    for (const [col, bad] of [
      ['i', ' 12 '],
      ['i', '0x10'],
      ['i', '12 '],
      ['i', '1e3'],
      ['i', ''],
      ['u', '0x10'],
      ['u', '\t7'],
      ['h', '0x10'],
    ] as const) {
      const row: Record<string, unknown> = { i: 1, u: 1, h: 1, [col]: bad };
      await encodeError(client.insert({ table: tb, values: [{ i: 0, u: 0, h: 0 }, row] }), 'CHWIRE_BAD_VALUE', new RegExp(`"${col}" \\(\\w+\\) row 1: ${JSON.stringify(JSON.stringify(bad)).slice(1, -1)} not an integer`));
    }
    await client.insert({ table: tb, values: [{ i: '+12', u: '18446744073709551615', h: '-0' }, { i: '-7', u: '0', h: '-32768' }] });
    assert.deepEqual(await serverQuery(`SELECT i, toString(u), h FROM ${tb} ORDER BY i`), [
      [-7, '0', -32768],
      [12, '18446744073709551615', 0],
    ]);
  });
});

test('encodeNative: integer strings are strict too', () => {
  const bad = (type: string, v: string, reason = 'not an integer') =>
    assert.throws(() => encodeNative({ columns: [{ name: 'x', type, values: [1, v] }] }), (e: unknown) => e instanceof EncodeError && new RegExp(`"x" \\(${type}\\) row 1: .* ${reason}`).test(e.message));
  bad('Int32', ' 12 ');
  bad('Int32', '0x10');
  bad('UInt8', '+0x1');
  bad('Int64', '0x10');
  bad('Int128', ' 0x10');
  bad('IntervalDay', ' 3', 'not an Int64 interval count');
  // The 128/256-bit types take 0x strings (README); the bytes match those of the numbers.
  assert.deepEqual(encodeNative({ columns: [{ name: 'x', type: 'UInt256', values: ['0xff', '+255'] }] }), encodeNative({ columns: [{ name: 'x', type: 'UInt256', values: [255n, 255n] }] }));
  assert.deepEqual(encodeNative({ columns: [{ name: 'x', type: 'Int32', values: ['+12', '-3'] }] }), encodeNative({ columns: [{ name: 'x', type: 'Int32', values: [12, -3] }] }));
});

test('insert_batch_bytes weighs bytes, arrays and maps by their content, as it weighs strings', async () => {
  const { batchRows } = await import('../src/client/insert.js');
  const header = [{ name: 'b', type: 'String' }];
  const big = 100 * 1024;
  for (const value of [(i: number) => 'x'.repeat(big) + i, () => new Uint8Array(big), () => ['x'.repeat(big / 2), 'y'.repeat(big / 2)]]) {
    const type = Array.isArray(value(0)) ? 'Array(String)' : 'String';
    const rows = Array.from({ length: 100 }, (_, i) => ({ b: value(i) }));
    let blocks = 0;
    for await (const b of batchRows(rows, [{ ...header[0]!, type }], { rows: 100_000, bytes: 1024 * 1024, ms: 1000 })) if (b.rowCount) blocks++;
    assert.ok(blocks >= 9 && blocks <= 11, `${type}: ${blocks} blocks of ≈ 1 MiB`);
  }
});

test('an array mixing row objects and row arrays is refused (their column orders differ)', async () => {
  const { inferColumns } = await import('../src/client/insert.js');
  assert.throws(() => inferColumns([{ b: 'B0', a: 'A0' }, ['A1', 'B1']]), (e: unknown) => e instanceof EncodeError && e.code === 'CHWIRE_BAD_ROW' && /row 1 is an array/.test(e.message));
});

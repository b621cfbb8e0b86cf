// The embedded engine (chdb:): per-client database and settings on the shared default connection,
// FORMAT clauses with trailing comments, exec() with raw formats, and multi-statements refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, ClickHouseError } from '../src/index.js';
import { ChwireError } from '../src/core/errors.js';
import { hasEngine } from './helpers/engine.js';

const skip = (await hasEngine()) ? false : 'chdb is not installed';

async function one(c: ReturnType<typeof createClient>, query: string): Promise<unknown> {
  const rows = (await (await c.query({ query })).json()) as Record<string, unknown>[];
  return Object.values(rows[0]!)[0];
}

test('embedded: database, SET and USE stay with their client', { skip }, async () => {
  const setup = createClient({ url: 'chdb:' });
  await setup.command({ query: 'CREATE DATABASE IF NOT EXISTS emb_iso' });
  const a = createClient({ url: 'chdb:' });
  const b = createClient({ url: 'chdb:', database: 'emb_iso' });
  try {
    assert.equal(await one(b, 'SELECT currentDatabase()'), 'emb_iso');
    assert.equal(await one(a, 'SELECT currentDatabase()'), 'default');
    await a.command({ query: 'SET max_threads = 1' });
    assert.equal(String(await one(a, "SELECT getSetting('max_threads')")), '1');
    assert.notEqual(String(await one(b, "SELECT getSetting('max_threads')")), '1');
    // a query's own settings win over the session's
    const rs = await a.query({ query: "SELECT getSetting('max_threads') m", clickhouse_settings: { max_threads: 3 } });
    assert.equal(String(((await rs.json()) as { m: unknown }[])[0]!.m), '3');
    await a.command({ query: 'USE emb_iso' });
    await a.command({ query: 'CREATE TABLE iso_t (x UInt8) ENGINE = Memory' });
    assert.equal(await one(a, 'SELECT currentDatabase()'), 'emb_iso');
    assert.equal(await one(setup, 'SELECT currentDatabase()'), 'default');
    assert.equal(await one(setup, "SELECT count() FROM system.tables WHERE database = 'emb_iso' AND name = 'iso_t'"), 1n);
    await assert.rejects(a.command({ query: 'USE no_such_db_x' }), (e: unknown) => e instanceof ClickHouseError && e.code === 81);
    await assert.rejects(a.command({ query: 'SET no_such_setting_x = 1' }), (e: unknown) => e instanceof ClickHouseError && e.code === 115);
    assert.equal(await one(a, 'SELECT currentDatabase()'), 'emb_iso');
  } finally {
    await setup.command({ query: 'DROP DATABASE IF EXISTS emb_iso' });
    await Promise.all([a.close(), b.close(), setup.close()]);
  }
});

test('embedded: a FORMAT clause before comments, semicolons and whitespace; no sentinel escapes', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    for (const q of ['SELECT 1 AS x FORMAT JSONEachRow -- c', 'SELECT 1 AS x FORMAT CSV /* c */ ;\n', 'SELECT 1 AS x format TSV;; -- c\n  ', "SELECT 1 AS x -- FORMAT 'y'"]) {
      assert.deepEqual(await (await c.query({ query: q })).json(), [{ x: 1 }], q);
    }
    assert.deepEqual(await (await c.query({ query: "SELECT 'FORMAT CSV' AS x" })).json(), [{ x: 'FORMAT CSV' }]);
  } finally {
    await c.close();
  }
});

test('embedded: multi-statements are refused with code 62, as by the servers', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    await assert.rejects(c.query({ query: 'SELECT 1; SELECT 2' }), (e: unknown) => {
      assert.ok(e instanceof ClickHouseError);
      assert.equal(e.code, 62);
      assert.match(e.message, /Multi-statements are not allowed/);
      return true;
    });
    await assert.rejects(c.command({ query: 'CREATE TABLE ms (x UInt8) ENGINE = Memory; DROP TABLE ms' }), (e: unknown) => e instanceof ClickHouseError && e.code === 62);
    await assert.rejects(c.exec({ query: 'SELECT 1; SELECT 2' }), (e: unknown) => e instanceof ClickHouseError && e.code === 62);
    // one statement with ';' in strings and comments, or trailing ones, is fine
    assert.deepEqual(await (await c.query({ query: "SELECT ';' AS s; -- x; y\n;" })).json(), [{ s: ';' }]);
  } finally {
    await c.close();
  }
});

test('embedded: exec() runs raw formats both ways; query_id is kept', { skip }, async () => {
  const c = createClient({ url: 'chdb:' });
  try {
    const r = await c.exec({ query: 'SELECT number, toString(number) FROM numbers(3) FORMAT CSV', query_id: 'emb-exec-1' });
    assert.equal(r.queryId, 'emb-exec-1');
    assert.equal(await r.text(), '0,"0"\n1,"1"\n2,"2"\n');
    assert.equal(await (await c.exec({ query: 'SELECT 1, 2' })).text(), '1\t2\n');
    await c.command({ query: 'CREATE TABLE emb_exec (a UInt8, b String) ENGINE = Memory' });
    await c.exec({ query: 'INSERT INTO emb_exec FORMAT CSV', body: '1,"x;y"\n2,z\n' });
    await c.exec({ query: 'INSERT INTO emb_exec (b, a) SETTINGS input_format_skip_unknown_fields = 1 FORMAT JSONEachRow', body: [new TextEncoder().encode('{"a":3,"b":"w","c":1}\n')] });
    const out = await c.exec({ query: 'SELECT * FROM emb_exec ORDER BY a FORMAT JSONEachRow' });
    assert.equal(await out.text(), '{"a":1,"b":"x;y"}\n{"a":2,"b":"z"}\n{"a":3,"b":"w"}\n');
    await assert.rejects(c.exec({ query: 'SELECT * FROM no_such_table_y' }), (e: unknown) => e instanceof ClickHouseError && e.code === 60);
    await assert.rejects(c.exec({ query: 'SELECT 1', body: 'x' }), (e: unknown) => e instanceof ChwireError);
    await c.command({ query: 'DROP TABLE emb_exec' });
  } finally {
    await c.close();
  }
});

// The README's main example runs as written (against the test server instead of localhost:9000),
// and the first commands it lists work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { testServer, serverQuery } from './helpers/server.js';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

test('the README client example runs', async (t) => {
  const srv = await testServer();
  if (!srv) return t.skip('no ClickHouse server');
  const m = /```ts\nimport \{ createClient \} from 'chwire';\n([\s\S]*?)```/.exec(README);
  assert.ok(m, 'the example is in the README');
  const table = `readme_t_${process.pid}`;
  const code = m[1]!
    .replace('clickhouse://default:@localhost:9000/default', `clickhouse://default:@${srv.host}:${srv.tcpPort}/default`)
    .replace('CREATE TABLE t ', `CREATE TABLE ${table} `)
    .replaceAll("table: 't'", `table: '${table}'`);
  const dir = mkdtempSync(join(tmpdir(), 'chwire-readme-'));
  try {
    const file = join(dir, 'example.mts');
    writeFileSync(file, `import { createClient } from ${JSON.stringify(join(ROOT, 'src/index.ts'))};\n${code}\nconsole.log('done');\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', file], { encoding: 'utf8', cwd: ROOT, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /done/);
    assert.deepEqual(await serverQuery(`SELECT id, name FROM ${table} ORDER BY id`), [['1', 'a'], ['2', 'b'], ['3', 'c']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await serverQuery(`DROP TABLE IF EXISTS ${table}`);
  }
});

test('the README core example runs', async () => {
  const { decodeNative, encodeNative } = await import('../src/index.js');
  const bytes3 = encodeNative({ columns: [{ name: 'x', type: 'Nullable(Decimal(9, 2))', values: ['1.50', null] }] });
  const [b] = decodeNative(bytes3);
  assert.deepEqual(Array.from(b!.columns[0]!.toArray()), ['1.50', null]);
  assert.deepEqual(encodeNative(decodeNative(bytes3)), bytes3);
});

test('the package exports what the README names: createServer() from chwire/server, the core from chwire/core', async () => {
  const server = (await import('chwire/server' as string)) as { createServer?: unknown };
  assert.equal(typeof server.createServer, 'function');
  const core = (await import('chwire/core' as string)) as { decodeNative?: unknown };
  assert.equal(typeof core.decodeNative, 'function');
});

// `chwire serve`: a cancelled or abandoned query stops in the engine and never holds up
// another client; Cancel during INSERT data ends the INSERT; `serve --help`.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type ChwireServer } from '../src/server/index.js';
import { serveMain } from '../src/server/cli.js';
import { createClient, AbortError } from '../src/index.js';
import { Connection, type ConnectionEvent } from '../src/core/connection/connection.js';
import { hasEngine } from './helpers/engine.js';

const LONG = 'SELECT count() FROM numbers(200000000000)';

describe('chwire serve: cancel and disconnect', { concurrency: false }, () => {
  let server: ChwireServer | undefined;
  let port = 0;
  const url = (): string => `clickhouse://127.0.0.1:${port}`;

  before(async () => {
    if (!(await hasEngine())) return;
    // One idle lane: an abandoned query's lane would be the next client's.
    server = createServer({ port: 0, engineSessions: 1, log: () => {} });
    port = (await server.listen()).port;
  });
  after(async () => {
    await server?.close();
  });

  test('the result header comes before any Progress: rs.meta is known when query() resolves', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const c = createClient({ url: url() });
    try {
      for (const [q, meta] of [
        ['SELECT number AS n, toString(n) AS s FROM numbers(5)', [{ name: 'n', type: 'UInt64' }, { name: 's', type: 'String' }]],
        ['SELECT count() AS c FROM numbers(5000000)', [{ name: 'c', type: 'UInt64' }]],
      ] as const) {
        const rs = await c.query({ query: q });
        assert.deepEqual(rs.meta, meta, q);
        await rs.json();
      }
    } finally {
      await c.close();
    }
  });

  /** Statements the engine is running (besides this one), after a short settle. */
  async function running(): Promise<bigint> {
    const c = createClient({ url: url() });
    try {
      const rows = (await (await c.query({ query: "SELECT count() n FROM system.processes WHERE query NOT LIKE '%system.processes%'" })).json()) as { n: bigint }[];
      return rows[0]!.n;
    } finally {
      await c.close();
    }
  }

  test('an aborted aggregate stops in the engine; the next client does not wait', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const a = createClient({ url: url() });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 500);
    await assert.rejects(a.query({ query: LONG, abort_signal: ac.signal }).then((r) => r.json()), AbortError);
    await a.close();
    const b = createClient({ url: url() });
    const t0 = Date.now();
    assert.deepEqual(await (await b.query({ query: 'SELECT 2 AS x' })).json(), [{ x: 2 }]);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    await b.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await running(), 0n);
  });

  test('a client killed mid-query (clickhouse-client, kill -9): the query stops, the next client runs at once', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    if (!existsSync('/usr/bin/clickhouse-client')) return t.skip('clickhouse-client is not installed');
    const child = spawn('/usr/bin/clickhouse-client', ['--port', String(port), '-q', LONG], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 1000));
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const c = createClient({ url: url() });
    const t0 = Date.now();
    assert.deepEqual(await (await c.query({ query: 'SELECT 3 AS x' })).json(), [{ x: 3 }]);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
    await c.close();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await running(), 0n);
  });

  test('Cancel while sending INSERT data ends the INSERT with EndOfStream (as ClickHouse does)', async (t) => {
    if (!server) return t.skip('chdb is not installed');
    const c = createClient({ url: url() });
    await c.command({ query: 'CREATE TABLE IF NOT EXISTS cancel_ins (a UInt8, b String) ENGINE = Memory' });
    const conn = new Connection({ clientName: 'server-test' });
    const sock = net.connect(port, '127.0.0.1');
    const events: string[] = [];
    const flush = (): void => {
      for (const b of conn.takeOutput()) sock.write(b);
    };
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer to Cancel: ${events.join(' ')}`)), 5000);
      sock.on('error', reject);
      sock.on('data', (b) => {
        for (const e of conn.receive(b) as ConnectionEvent[]) {
          events.push(e.type);
          if (e.type === 'hello') conn.startInsert({ query: 'INSERT INTO cancel_ins FORMAT CSV' });
          if (e.type === 'insertHeader') {
            conn.sendBlock({ columns: [{ name: 'a', type: 'UInt8', values: [1] }, { name: 'b', type: 'String', values: ['x'] }] });
            conn.cancel();
          }
          if (e.type === 'endOfStream' || e.type === 'exception') {
            clearTimeout(timer);
            resolve();
          }
        }
        flush();
      });
      flush();
    });
    sock.destroy();
    assert.equal(events[events.length - 1], 'endOfStream');
    assert.deepEqual(await (await c.query({ query: 'SELECT count() n FROM cancel_ins' })).json(), [{ n: 1n }]);
    await c.command({ query: 'DROP TABLE cancel_ins' });
    await c.close();
  });
});

test('chwire serve --help prints the usage and exits 0', async () => {
  const out: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => {
    out.push(String(s));
    return true;
  }) as typeof process.stdout.write;
  let code: number;
  try {
    code = await serveMain(['--help']);
  } finally {
    process.stdout.write = write;
  }
  assert.equal(code, 0);
  assert.match(out.join(''), /usage: chwire serve/);
  assert.match(out.join(''), /--data-dir/);
});

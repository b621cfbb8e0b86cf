// Checks the test infrastructure itself: the chDB helpers, the ClickHouse 18.16 servers started by
// scripts/clickhouse-server.sh, their TLS/mTLS ports and the failover helpers.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { request as httpsRequest } from 'node:https';
import {
  engineJSON,
  engineNative,
  engineQuery,
  engineReadNative,
  hasEngine,
  settingsClause,
  ENGINE_DEFAULT_SETTINGS,
} from './helpers/engine.js';
import {
  clickhouseClient,
  parseEnvFile,
  portAccepts,
  serverExec,
  serverPid,
  serverQuery,
  startServer,
  stopServer,
  testServer,
  type ServerInfo,
} from './helpers/server.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('engine helpers (chDB)', { concurrency: false }, () => {
  let available = false;
  before(async () => {
    available = await hasEngine();
  });

  test('SELECT 1::UInt64 gives the known Native block', async (t) => {
    if (!available) return t.skip('chdb is not installed');
    // 1 column, 1 row, name "CAST('1', 'UInt64')" (26.7 names the :: cast so), type UInt64, value 1 LE.
    const name = Buffer.from("CAST('1', 'UInt64')");
    const expected = Buffer.concat([
      Buffer.from([1, 1, name.length]),
      name,
      Buffer.from([6]),
      Buffer.from('UInt64'),
      Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]),
    ]);
    const bytes = await engineNative('SELECT 1::UInt64');
    assert.equal(bytes.length, 37);
    assert.equal(hex(bytes), hex(expected));
    assert.equal(hex(await engineNative('SELECT toUInt64(1) AS n')), '0101016e0655496e7436340100000000000000');
    assert.equal((await engineNative('SELECT 1 WHERE 0')).length, 0);
  });

  test('default settings exist in this engine and enable the experimental types', async (t) => {
    if (!available) return t.skip('chdb is not installed');
    const names = Object.keys(ENGINE_DEFAULT_SETTINGS);
    const r = await engineJSON<{ name: string }>(
      `SELECT name FROM system.settings WHERE name IN (${names.map((n) => `'${n}'`).join(', ')}) ORDER BY name`,
    );
    assert.deepEqual(r.data.map((x) => x.name), [...names].sort());
    const types = await engineJSON(
      "SELECT 1::Variant(UInt8, String) AS v, 2::LowCardinality(UInt8) AS l, '{\"a\":1}'::JSON AS j, " +
        "'12:34:56'::Time AS tm, 42::Dynamic AS d, timezone() AS tz",
    );
    assert.deepEqual(
      types.meta.map((m) => m.type),
      ['Variant(String, UInt8)', 'LowCardinality(UInt8)', 'JSON', 'Time', 'Dynamic', 'String'],
    );
    assert.equal(types.data[0]!.tz, 'UTC');
  });

  test('engineJSON values are exact', async (t) => {
    if (!available) return t.skip('chdb is not installed');
    const r = await engineJSON(
      "SELECT 18446744073709551615::UInt64 AS u, -170141183460469231731687303715884105728::Int128 AS i, " +
        "toDecimal64('1.50', 2) AS d, nan AS n, -inf AS m, 0.1::Float64 AS f, toDateTime(0) AS t",
    );
    assert.deepEqual(r.data[0], {
      u: '18446744073709551615',
      i: '-170141183460469231731687303715884105728',
      d: '1.5',
      n: 'nan',
      m: '-inf',
      f: 0.1,
      t: '1970-01-01 00:00:00',
    });
    assert.equal(r.rows, 1);
  });

  test('settings are per query (no SET leaking into later queries)', async (t) => {
    if (!available) return t.skip('chdb is not installed');
    const a = await engineJSON('SELECT timezone() AS tz', { session_timezone: 'Asia/Tokyo' });
    assert.equal(a.data[0]!.tz, 'Asia/Tokyo');
    const b = await engineJSON('SELECT timezone() AS tz');
    assert.equal(b.data[0]!.tz, 'UTC');
    assert.equal(settingsClause({ a: 1 }, { a: null, b: "x'y" }), " SETTINGS b = 'x\\'y'");
    assert.equal((await engineQuery('SELECT 1 SETTINGS max_threads = 1')).trim(), '1');
    assert.equal(await engineQuery('SELECT number FROM numbers(3)', { format: 'CSV' }), '0\n1\n2\n');
  });

  test('engineReadNative has 26.7 read Native bytes back (time zones kept by the structure)', async (t) => {
    if (!available) return t.skip('chdb is not installed');
    const bytes = await engineNative(
      "SELECT number AS x, toString(number) AS s, toDateTime(number, 'Asia/Tokyo') AS t FROM numbers(3)",
    );
    const r = await engineReadNative(bytes, "x UInt64, s String, t DateTime('Asia/Tokyo')");
    assert.deepEqual(r.meta, [
      { name: 'x', type: 'UInt64' },
      { name: 's', type: 'String' },
      { name: 't', type: "DateTime('Asia/Tokyo')" },
    ]);
    assert.deepEqual(r.data[2], { x: '2', s: '2', t: '1970-01-01 09:00:02' });
    const sum = await engineReadNative(bytes, "x UInt64, s String, t DateTime('Asia/Tokyo')", 'sum(x) AS total');
    assert.equal(sum.data[0]!.total, '3');
    const empty = await engineReadNative(new Uint8Array(0), 'x UInt64');
    assert.equal(empty.rows, 0);
  });
});

// A ClickHouse protocol Hello (revision 54412) as raw bytes; the server answers with its own Hello
// (packet 0, then the string "ClickHouse") or an Exception (packet 2).
function helloPacket(user = 'default', password = ''): Buffer {
  const str = (s: string) => {
    const b = Buffer.from(s);
    return Buffer.concat([Buffer.from([b.length]), b]);
  };
  const varint = (n: number) => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  return Buffer.concat([varint(0), str('chwire-infra'), varint(1), varint(0), varint(54412), str(''), str(user), str(password)]);
}

interface TlsOutcome {
  ok: boolean;
  reply?: Buffer;
  error?: string;
  protocol?: string | null;
}

function tlsHello(port: number, opts: ConnectionOptions): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const chunks: Buffer[] = [];
    const sock = tlsConnect({ host: '127.0.0.1', port, ...opts });
    const finish = (o: TlsOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), 10_000);
    sock.once('secureConnect', () => sock.write(helloPacket()));
    sock.on('data', (b: Buffer) => {
      chunks.push(b);
      const all = Buffer.concat(chunks);
      if (all.includes(Buffer.from('ClickHouse'))) finish({ ok: true, reply: all, protocol: sock.getProtocol() });
    });
    sock.once('error', (e) => finish({ ok: false, error: e.message }));
    sock.once('close', () => finish({ ok: false, error: 'closed', reply: Buffer.concat(chunks) }));
  });
}

function httpsGet(port: number, path: string, opts: ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, method: 'GET', ...opts }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (b: Buffer) => chunks.push(b));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('ClickHouse 18.16 test servers', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  before(async () => {
    srv = await testServer();
  });

  test('parseEnvFile reads shell-quoted values', () => {
    assert.deepEqual(parseEnvFile("# c\nA=1\nB='x y'\nC='it'\\''s'\n"), { A: '1', B: 'x y', C: "it's" });
  });

  test('testServer() starts/finds the servers; SELECT version() is 18.16', async (t) => {
    if (!srv) return t.skip('no ClickHouse server (set CHWIRE_TEST=1, install clickhouse-server)');
    assert.match(srv.version, /^18\.16\./);
    assert.deepEqual(await serverQuery('SELECT version()'), [[srv.version]]);
    assert.deepEqual(await serverQuery('SELECT version()', { port: srv.tcpPortB }), [[srv.version]]);
    assert.deepEqual(await serverQuery('SELECT 1', { port: srv.tcpPortC }), [[1]]);
    assert.equal(await testServer(), srv, 'memoized');
    assert.ok(srv.ca.includes('BEGIN CERTIFICATE') && srv.clientKey.includes('PRIVATE KEY'));
  });

  test('serverQuery / clickhouseClient: types, DDL, stdin inserts and settings as default', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    assert.deepEqual(await serverQuery("SELECT toUInt64(18446744073709551615), toInt8(-1), 'a\\tb', [1,2]"), [
      ['18446744073709551615', -1, 'a\tb', [1, 2]],
    ]);
    const table = `chwire_infra_${process.pid}`;
    await serverExec(`DROP TABLE IF EXISTS ${table}; CREATE TABLE ${table} (x UInt32, s String) ENGINE = Memory`);
    try {
      await clickhouseClient(['-q', `INSERT INTO ${table} FORMAT TabSeparated`], '1\tone\n2\ttwo\n');
      assert.deepEqual(await serverQuery(`SELECT x, s FROM ${table} ORDER BY x`), [
        [1, 'one'],
        [2, 'two'],
      ]);
    } finally {
      await serverExec(`DROP TABLE IF EXISTS ${table}`);
    }
    const s = await serverQuery("SELECT name, value FROM system.settings WHERE name IN ('extremes', 'send_logs_level') ORDER BY name", {
      settings: { extremes: 1, send_logs_level: 'none' },
    });
    assert.deepEqual(s, [
      ['extremes', '1'],
      ['send_logs_level', 'none'],
    ]);
    await assert.rejects(serverQuery('SELECT throwIf(1)'), /Code: 395/);
  });

  test('secured user: password works, wrong password is code 193, reads only', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const { user, password } = srv.secured;
    assert.deepEqual(await serverQuery('SELECT 1', { settings: { max_block_size: 100 } }), [[1]]);
    assert.equal((await clickhouseClient(['--user', user, '--password', password, '-q', 'SELECT 42'])).trim(), '42');
    await assert.rejects(clickhouseClient(['--user', user, '--password', 'wrong', '-q', 'SELECT 1']), /Code: 193/);
    await assert.rejects(
      clickhouseClient(['--user', user, '--password', password, '-q', 'CREATE TABLE chwire_nope (x UInt8) ENGINE = Memory']),
      /Code: 164/,
    );
  });

  test('clusters over A and B', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    assert.deepEqual(await serverQuery(`SELECT count() FROM cluster('${srv.clusters.shards}', system.one)`), [['2']]);
    assert.deepEqual(await serverQuery(`SELECT count() FROM cluster('${srv.clusters.replicas}', system.one)`), [['1']]);
  });

  test('TLS port (relaxed): CA-verified handshake, client certificate optional but verified', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const base = { ca: srv.ca, servername: srv.servername };
    const plain = await tlsHello(srv.tlsPort, base);
    assert.ok(plain.ok, plain.error);
    assert.equal(plain.reply![0], 0, 'server Hello packet');
    assert.match(plain.protocol ?? '', /^TLSv1\.[23]$/);
    const withCert = await tlsHello(srv.tlsPort, { ...base, cert: srv.clientCert, key: srv.clientKey });
    assert.ok(withCert.ok, withCert.error);
    const rogue = await tlsHello(srv.tlsPort, { ...base, cert: srv.rogueCert, key: srv.rogueKey });
    assert.equal(rogue.ok, false, 'a client certificate not signed by the CA is rejected');
    const noCa = await tlsHello(srv.tlsPort, { servername: srv.servername });
    assert.equal(noCa.ok, false, 'the server certificate does not verify without the test CA');
    assert.match(noCa.error ?? '', /self[- ]signed|unable to get|certificate/i);
    assert.equal((await httpsGet(srv.httpsPort, '/?query=SELECT%201', base)).trim(), '1');
  });

  test('TLS port (strict, instance C): mTLS requires a CA-signed client certificate', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const base = { ca: srv.ca, servername: srv.servername };
    const ok = await tlsHello(srv.tlsPortStrict, { ...base, cert: srv.clientCert, key: srv.clientKey });
    assert.ok(ok.ok, ok.error);
    const none = await tlsHello(srv.tlsPortStrict, base);
    assert.equal(none.ok, false, 'no client certificate is rejected');
    const rogue = await tlsHello(srv.tlsPortStrict, { ...base, cert: srv.rogueCert, key: srv.rogueKey });
    assert.equal(rogue.ok, false, 'a rogue client certificate is rejected');
    const body = await httpsGet(srv.httpsPortStrict, '/?query=SELECT%202', { ...base, cert: srv.clientCert, key: srv.clientKey });
    assert.equal(body.trim(), '2');
  });

  test('stopServer / startServer (failover helpers) on instance B', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const pid = await serverPid('B');
    assert.ok(pid);
    try {
      await stopServer('B');
      assert.equal(await serverPid('B'), null);
      assert.equal(await portAccepts(srv.host, srv.tcpPortB), false);
      assert.deepEqual(await serverQuery('SELECT 1'), [[1]], 'A is unaffected');
    } finally {
      await startServer('B');
    }
    assert.notEqual(await serverPid('B'), pid);
    assert.deepEqual(await serverQuery('SELECT 1', { port: srv.tcpPortB }), [[1]]);
  });
});

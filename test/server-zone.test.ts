// The server's timezone where a value depends on it (a DateTime column without a zone of its own):
// read as text with `dates: 'string'`, and written from text on insert. Instance T of the test
// servers runs in Asia/Tokyo (the others in UTC, where a wrong zone would go unnoticed). Over TCP
// the server names its zone in its hello; over HTTP chwire asks once per client, only when needed.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type ClickHouseClient } from '../src/index.js';
import { needsServerZone } from '../src/transport/http.js';
import { serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';

const uniq = `${process.pid}_${Date.now() % 1e6}`;

test('needsServerZone: which column types depend on the server zone under which options', () => {
  const cases: [string[], object, boolean, boolean][] = [
    // types, options, insert, expected
    [['DateTime'], { dates: 'string' }, false, true],
    [['DateTime'], {}, false, false], // a Date is the same instant in any zone
    [["DateTime('UTC')"], { dates: 'string' }, false, false],
    [['Array(Nullable(DateTime))'], { dates: 'string' }, false, true],
    [['Tuple(a String, b LowCardinality(DateTime))'], { dates: 'string' }, false, true],
    [['DateTime64(3)'], {}, false, false],
    [['DateTime64(6)'], {}, false, true], // finer than milliseconds: text by default
    [["DateTime64(6, 'UTC')"], {}, false, false],
    [['DateTime64(3)'], { dates: 'string' }, false, true],
    [['DateTime64(6)'], { dates: 'bigint' }, false, false],
    [['DateTime'], { dates: 'string', serverTimezone: 'UTC' }, false, false],
    [['Dynamic'], {}, false, true],
    [['UInt64', 'String', 'Date'], { dates: 'string' }, false, false],
    [['DateTime'], {}, true, true],
    [["DateTime('Europe/Berlin')", 'String'], {}, true, false],
    [['Map(String, DateTime64(3))'], {}, true, true],
  ];
  for (const [types, o, insert, want] of cases) assert.equal(needsServerZone(types, o, insert), want, `${types.join(', ')} ${JSON.stringify(o)}${insert ? ' insert' : ''}`);
});

describe('the server zone (instance T, Asia/Tokyo) over TCP and HTTP', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  const tables: string[] = [];
  const clients: ClickHouseClient[] = [];
  const open = (kind: 'tcp' | 'http', o: object = {}, fetchFn?: typeof fetch) => {
    const url = kind === 'tcp' ? `clickhouse://${srv!.host}:${srv!.tcpPortT}` : `http://${srv!.host}:${srv!.httpPortT}`;
    const c = createClient({ url, ...o, ...(fetchFn ? { fetch: fetchFn } : {}) });
    clients.push(c);
    return c;
  };
  const onT = { port: 0 };
  /** A fetch that counts the HTTP transport's zone lookups (serverInfo's query). */
  const zoneAskCounter = () => {
    const counter = {
      asked: 0,
      fetch: ((input, init) => {
        if (init?.body === 'SELECT version(), timezone()') counter.asked++;
        return fetch(input, init);
      }) as typeof fetch,
    };
    return counter;
  };

  before(async () => {
    srv = await testServer();
    if (srv) onT.port = srv.tcpPortT;
  });
  after(async () => {
    for (const c of clients) await c.close();
    if (srv && tables.length) await serverExec(tables.map((t) => `DROP TABLE IF EXISTS ${t}`).join(';\n'), onT);
  });

  test('instance T runs in its own zone', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    assert.equal(srv.zoneT, 'Asia/Tokyo');
    assert.deepEqual(await serverQuery('SELECT timezone()', onT), [[srv.zoneT]]);
    for (const kind of ['tcp', 'http'] as const) assert.equal((await open(kind).serverInfo()).timezone, srv.zoneT, kind);
  });

  test("dates: 'string' gives zone-less DateTime in the server's zone, as the server prints it", async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const sql = "SELECT toDateTime(1700000000 + number * 40000) AS t, [toDateTime(1600000000 + number), NULL] AS a, toDateTime(1700000000, 'UTC') AS u FROM system.numbers LIMIT 3";
    const want = (await serverQuery(`SELECT toString(t), arrayMap(x -> toString(x), a), toString(u) FROM (${sql})`, onT)).map(([t, a, u]) => ({ t, a, u })) as { t: string; a: (string | null)[]; u: string }[];
    // The server's own text: wall time in Tokyo for the zone-less column, in UTC for the other.
    assert.equal(want[0]!.t, '2023-11-15 07:13:20');
    for (const kind of ['tcp', 'http'] as const) {
      const zone = zoneAskCounter();
      const c = open(kind, { dates: 'string' }, kind === 'http' ? zone.fetch : undefined);
      const rs = await c.query({ query: sql });
      const rows = (await rs.json()) as { t: string; a: (string | null)[]; u: string }[];
      if (kind === 'tcp') assert.deepEqual(rows, want, kind);
      else {
        // FORMAT Native names DateTime('UTC') just DateTime (the server drops the zone there), so
        // over HTTP a column's own zone is unknown and the server's applies to every DateTime.
        assert.deepEqual(rs.meta.map((m) => m.type), ['DateTime', 'Array(Nullable(DateTime))', 'DateTime']);
        assert.deepEqual(
          rows.map(({ t, a }) => ({ t, a })),
          want.map(({ t, a }) => ({ t, a })),
          kind,
        );
        assert.deepEqual(new Set(rows.map((r) => r.u)), new Set(['2023-11-15 07:13:20']));
      }
      // Again: the zone is asked once per client.
      await (await c.query({ query: sql })).json();
      if (kind === 'http') assert.equal(zone.asked, 1, 'asked the zone once');
    }
  });

  test('HTTP with max_open_connections 1: the zone asked mid-result does not wait behind that result', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = open('http', { dates: 'string', max_open_connections: 1, request_timeout: 5_000 });
    const started = Date.now();
    const rows = (await (await c.query({ query: 'SELECT toDateTime(0) AS d, number AS n FROM numbers(200000)' })).json()) as { d: string }[];
    assert.equal(rows.length, 200000);
    assert.equal(rows[0]!.d, '1970-01-01 09:00:00');
    assert.ok(Date.now() - started < 4_000, `${Date.now() - started} ms`);
  });

  test('without a value that needs it, the HTTP client does not ask the zone; Dates are the same instants', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const zone = zoneAskCounter();
    const c = open('http', {}, zone.fetch);
    const rows = (await (await c.query({ query: "SELECT toDateTime(1700000000) AS t, toDateTime(1700000000, 'UTC') AS u, 'x' AS s" })).json()) as { t: Date; u: Date }[];
    assert.equal(rows[0]!.t.getTime(), 1700000000000);
    assert.equal(rows[0]!.u.getTime(), 1700000000000);
    assert.equal(zone.asked, 0);
  });

  test('DateTime text without a zone is inserted as the server reads it, over TCP and HTTP', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const text = ['2024-01-02 03:04:05', '1999-12-31 23:59:59', '2024-03-10 02:30:00'];
    const [want] = (await serverQuery(`SELECT [${text.map((x) => `toUnixTimestamp(toDateTime('${x}'))`).join(', ')}]`, onT)) as [[string[]]];
    const wantTs = want[0]!.map(Number);
    // Tokyo is 9 hours ahead of UTC (no daylight saving): the server's own reading.
    assert.equal(wantTs[0], Date.UTC(2024, 0, 1, 18, 4, 5) / 1000);
    for (const kind of ['tcp', 'http'] as const) {
      const table = `default.chwire_zone_${kind}_${uniq}`;
      tables.push(table);
      await serverExec(`CREATE TABLE ${table} (k UInt8, t DateTime, a Array(DateTime), u DateTime('UTC')) ENGINE = Memory`, onT);
      const c = open(kind);
      await c.insert({ table, values: text.map((x, k) => ({ k, t: x, a: [x], u: x })) });
      const back = await serverQuery(`SELECT toUnixTimestamp(t), arrayMap(x -> toUnixTimestamp(x), a), toUnixTimestamp(u) FROM ${table} ORDER BY k`, onT);
      assert.deepEqual(
        back.map(([t, a, u]) => [Number(t), (a as string[]).map(Number), Number(u)]),
        wantTs.map((w, k) => [w, [w], Date.parse(text[k]!.replace(' ', 'T') + 'Z') / 1000]),
        kind,
      );
    }
  });
});

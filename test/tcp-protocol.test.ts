// Issue 5 against the real ClickHouse 18.16 server (revision 54412): handshake, every type the
// server has (values checked against clickhouse-client's TSV output), INSERT and read back,
// exceptions, settings (applied with SET on this old server), client-side parameter binding, Cancel
// then reuse, Ping, LZ4/ZSTD both ways (checked on the wire through a recording proxy), Log packets,
// Totals/Extremes, and the sans-IO Connection fed the server's recorded bytes in small chunks.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { createClient, ClickHouseError, type ClickHouseClient } from '../src/index.js';
import { Connection, type ConnectionEvent } from '../src/core/connection/connection.js';
import { createNodeCodecs } from '../src/transport/compression.js';
import type { Block } from '../src/core/native/block-types.js';
import { clickhouseClient, serverExec, serverQuery, testServer, type ServerInfo } from './helpers/server.js';
import { watchLeaks } from './helpers/unhandled.js';

// ------------------------------------------------------------ process-level trap
const leaks = watchLeaks();

// ------------------------------------------------------------ helpers

/** A TCP proxy that records what each side sent, segmented by turns (a new segment when the direction changes). */
class RecordingProxy {
  private server!: net.Server;
  port = 0;
  /** Per accepted connection: the turns, each { from, bytes }. */
  sessions: { from: 'client' | 'server'; bytes: Buffer[] }[][] = [];
  private sockets = new Set<net.Socket>();
  constructor(private readonly targetPort: number) {}
  async start(): Promise<void> {
    this.server = net.createServer((client) => {
      const turns: { from: 'client' | 'server'; bytes: Buffer[] }[] = [];
      this.sessions.push(turns);
      const note = (from: 'client' | 'server', b: Buffer) => {
        const last = turns[turns.length - 1];
        if (last && last.from === from) last.bytes.push(b);
        else turns.push({ from, bytes: [b] });
      };
      const upstream = net.connect({ host: '127.0.0.1', port: this.targetPort });
      this.sockets.add(client).add(upstream);
      client.on('data', (b) => {
        note('client', b);
        upstream.write(b);
      });
      upstream.on('data', (b) => {
        note('server', b);
        client.write(b);
      });
      const end = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }
  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
  /** Total bytes sent by one side over every session. */
  bytesFrom(from: 'client' | 'server'): number {
    let n = 0;
    for (const s of this.sessions) for (const t of s) if (t.from === from) for (const b of t.bytes) n += b.length;
    return n;
  }
}

/** Split a type's top-level arguments: "A, B(C, D), 'x,y'" → ["A", "B(C, D)", "'x,y'"]. */
function typeArgs(inner: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = false;
  let cur = '';
  for (let i = 0; i < inner.length; i++) {
    const ch = inner[i]!;
    if (quote) {
      cur += ch;
      if (ch === '\\') cur += inner[++i] ?? '';
      else if (ch === "'") quote = false;
      continue;
    }
    if (ch === "'") quote = true;
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += ch;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function wrapper(type: string): [string, string[]] | undefined {
  const m = /^(\w+)\((.*)\)$/s.exec(type);
  return m ? [m[1]!, typeArgs(m[2]!)] : undefined;
}

/** ClickHouse's escaping in TSV and quoted values (writeAnyEscapedString). */
function escapeCH(s: string): string {
  return s.replace(/[\\'\t\n\r\b\f\0]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\t': '\\t', '\n': '\\n', '\r': '\\r', '\b': '\\b', '\f': '\\f', '\0': '\\0' })[c]!);
}

/** How ClickHouse prints a Float64/Float32 (shortest round trip, nan/inf, no '+' in exponents). */
function floatText(v: number, single: boolean): string {
  if (Number.isNaN(v)) return 'nan';
  if (v === Infinity) return 'inf';
  if (v === -Infinity) return '-inf';
  if (Object.is(v, -0)) return '-0';
  let x = v;
  if (single) {
    for (let p = 1; p <= 9; p++) {
      const c = Number(v.toPrecision(p));
      if (Math.fround(c) === v) {
        x = c;
        break;
      }
    }
  }
  return String(x).replace('e+', 'e');
}

function dateTimeText(d: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(d);
  const g = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${g('year')}-${g('month')}-${g('day')} ${g('hour')}:${g('minute')}:${g('second')}`;
}

/** A JS value chwire decoded, printed the way clickhouse-client prints it in TSV (quoted = inside a composite). */
function chText(v: unknown, type: string, serverTz: string, quoted = false): string {
  const w = wrapper(type);
  if (w) {
    const [name, args] = w;
    switch (name) {
      case 'Nullable':
        return v === null ? (quoted ? 'NULL' : '\\N') : chText(v, args[0]!, serverTz, quoted);
      case 'LowCardinality':
        return chText(v, args[0]!, serverTz, quoted);
      case 'Array':
        assert.ok(Array.isArray(v), `Array value expected for ${type}, got ${String(v)}`);
        return `[${(v as unknown[]).map((x) => chText(x, args[0]!, serverTz, true)).join(',')}]`;
      case 'Tuple':
        assert.ok(Array.isArray(v), `Tuple value (array) expected for ${type}`);
        return `(${(v as unknown[]).map((x, i) => chText(x, args[i]!, serverTz, true)).join(',')})`;
      case 'DateTime': {
        const tz = args[0]!.replace(/^'|'$/g, '');
        assert.ok(v instanceof Date, `Date expected for ${type}`);
        const s = dateTimeText(v, tz);
        return quoted ? `'${s}'` : s;
      }
      case 'Decimal':
        assert.equal(typeof v, 'string', `Decimal as exact string (${type})`);
        return v as string;
      case 'FixedString':
      case 'Enum8':
      case 'Enum16':
        assert.equal(typeof v, 'string', `${type} as string`);
        return quoted ? `'${escapeCH(v as string)}'` : escapeCH(v as string);
    }
  }
  switch (type) {
    case 'Float32':
    case 'Float64':
      assert.equal(typeof v, 'number');
      return floatText(v as number, type === 'Float32');
    case 'Int64':
    case 'UInt64':
      assert.equal(typeof v, 'bigint', `${type} as bigint`);
      return String(v);
    case 'Int8':
    case 'Int16':
    case 'Int32':
    case 'UInt8':
    case 'UInt16':
    case 'UInt32':
      assert.equal(typeof v, 'number', `${type} as number`);
      return String(v);
    case 'DateTime': {
      assert.ok(v instanceof Date, 'DateTime as Date');
      const s = dateTimeText(v, serverTz);
      return quoted ? `'${s}'` : s;
    }
    case 'String':
    case 'UUID':
    case 'Date':
      assert.equal(typeof v, 'string', `${type} as string`);
      return quoted ? `'${escapeCH(v as string)}'` : escapeCH(v as string);
    case 'Nothing':
      return quoted ? 'NULL' : '\\N';
  }
  if (/^Interval/.test(type)) return String(v);
  throw new Error(`no TSV printer for ${type}`);
}

function tsvOf(rows: unknown[][], types: string[], tz: string): string {
  return rows.map((r) => r.map((v, j) => chText(v, types[j]!, tz)).join('\t')).join('\n') + (rows.length ? '\n' : '');
}

/** Blocks and events as plain data for deep comparison. */
function plainBlock(b: Block): unknown {
  return {
    rows: b.rowCount,
    info: b.info,
    columns: b.columns.map((c) => ({ name: c.name, type: c.type, values: Array.from(c.toArray() as ArrayLike<unknown>) })),
  };
}
function plainEvent(e: ConnectionEvent): unknown {
  if ('block' in e) return { type: e.type, block: plainBlock(e.block) };
  return e;
}

const uniq = `${process.pid}_${Date.now() % 1e6}`;

// ------------------------------------------------------------ tests

describe('native protocol against ClickHouse 18.16', { concurrency: false }, () => {
  let srv: ServerInfo | null = null;
  let client: ClickHouseClient;
  const url = () => `clickhouse://${srv!.host}:${srv!.tcpPort}`;
  const tables: string[] = [];

  before(async () => {
    srv = await testServer();
    if (srv) client = createClient({ url: url() });
  });
  after(async () => {
    await client?.close();
    if (srv && tables.length) await serverExec(tables.map((t) => `DROP TABLE IF EXISTS ${t}`).join(';\n'));
  });

  test('handshake: server name, version and revision 54412', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const info = await client.serverInfo();
    assert.equal(info.name, 'ClickHouse');
    assert.equal(info.version, srv.version);
    assert.equal(info.revision, 54412);
    const [[tz]] = (await serverQuery('SELECT timezone()')) as [[string]];
    assert.equal(info.timezone, tz);
  });

  test('SELECT of every type 18.16 has, checked against clickhouse-client TSV', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const table = `default.chwire_tcp_types_${uniq}`;
    tables.push(table, `${table}_copy`, `${table}_cols`);
    const schema = `(
      k UInt32, i8 Int8, i16 Int16, i32 Int32, i64 Int64, u8 UInt8, u16 UInt16, u32 UInt32, u64 UInt64,
      f32 Float32, f64 Float64, d32 Decimal32(4), d64 Decimal64(8), d128 Decimal128(20),
      s String, fs FixedString(5), uuid UUID, d Date, dt DateTime, dtz DateTime('Asia/Kolkata'),
      e8 Enum8('a' = -128, 'b' = 0, 'c\\'q' = 127), e16 Enum16('x' = -32768, 'y' = 32767),
      ns Nullable(String), ni Nullable(Int64), arr Array(UInt32), aas Array(Array(String)),
      an Array(Nullable(Float64)), tup Tuple(Int16, String, Array(Date)),
      lc LowCardinality(String), lcn LowCardinality(Nullable(String)), n Nested(a UInt8, b String)
    ) ENGINE = Memory`;
    const lcOn = { settings: { allow_experimental_low_cardinality_type: 1 } };
    await serverExec(`CREATE TABLE ${table} ${schema}; CREATE TABLE ${table}_copy ${schema}; CREATE TABLE ${table}_cols ${schema}`, lcOn);
    const values = [
      `(1, -128, -32768, -2147483648, -9223372036854775808, 0, 0, 0, 0,
        -0., nan, -99999.9999, -9999999999.99999999, '-99999999999999999.99999999999999999999',
        '', '', '00000000-0000-0000-0000-000000000000', '1970-01-02', '1970-01-01 00:00:01', '2001-02-03 04:05:06',
        'a', 'x', NULL, NULL, [], [], [], (-1, '', []), '', NULL, [], [])`,
      `(2, 127, 32767, 2147483647, 9223372036854775807, 255, 65535, 4294967295, 18446744073709551615,
        3.4028235e38, inf, 99999.9999, 9999999999.99999999, '99999999999999999.99999999999999999999',
        'quote\\' back\\\\slash\\nnew\\ttab\\0nul ünï €', 'ab\\0', '61f0c404-5cb3-11e7-907b-a6006ad3dba0',
        '2105-12-31', '2038-01-19 03:14:08', '2100-12-31 23:59:59',
        'c\\'q', 'y', 'x\\'y', -9223372036854775808, [0, 4294967295], [['a', 'b\\''], [], ['']],
        [NULL, 1.5, -inf, nan], (32767, 'tu\\nple', ['2020-02-29', '1999-12-31']), 'low', 'card',
        [1, 2, 3], ['n1', 'n\\'2', ''])`,
      `(3, 0, 1, -1, 1, 1, 2, 3, 9007199254740993,
        1.17549435e-38, 0.1, 0.0001, -0.00000001, '0.00000000000000000001',
        'ascii', '12345', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2020-02-29', '2020-02-29 12:00:00', '2020-02-29 23:30:00',
        'b', 'x', '', 9223372036854775807, [7], [['x']], [NULL], (0, 'é', ['2020-01-01']), 'low', '',
        [255], ['only'])`,
    ];
    await clickhouseClient(['-q', `INSERT INTO ${table} VALUES ${values.join(', ')}`]);

    const expected = await clickhouseClient(['-q', `SELECT * FROM ${table} ORDER BY k FORMAT TSV`]);
    const rs = await client.query({ query: `SELECT * FROM ${table} ORDER BY k` });
    const rows = await createClient({ url: url(), rows: 'array' }).query({ query: `SELECT * FROM ${table} ORDER BY k` }).then((r) => r.json<unknown[]>());
    const objects = await rs.json<Record<string, unknown>>();
    const types = rs.meta.map((m) => m.type);
    const described = (await serverQuery(`DESCRIBE TABLE ${table}`)).map((r) => [r[0], r[1]]);
    const flatNested = described.flatMap(([n, ty]) => (n === 'n' ? [['n.a', 'Array(UInt8)'], ['n.b', 'Array(String)']] : [[n, ty]]));
    assert.deepEqual(rs.meta.map((m) => [m.name, m.type]), flatNested, 'names and types as the server describes them');
    assert.equal(tsvOf(rows, types, 'Etc/UTC'), expected);
    assert.equal(objects.length, 3);
    assert.deepEqual(objects.map((o) => Object.values(o)), rows);
    // Nested comes flattened: n.a / n.b are parallel arrays.
    assert.deepEqual(objects[1]!['n.a'], [1, 2, 3]);
    assert.deepEqual(objects[1]!['n.b'], ['n1', "n'2", '']);
    assert.ok(Number.isNaN(objects[1]!.an && (objects[1]!.an as number[])[3]));

    // INSERT what we read (rows) and read it back through clickhouse-client: identical TSV.
    const ins = await client.insert({ table: `${table}_copy`, values: objects });
    assert.equal(ins.rows, 3);
    assert.equal(await clickhouseClient(['-q', `SELECT * FROM ${table}_copy ORDER BY k FORMAT TSV`]), expected);
    // Columnar: the whole result as { name: values } inserted back.
    const cols = await (await client.query({ query: `SELECT * FROM ${table} ORDER BY k` })).columns();
    await client.insert({ table: `${table}_cols`, columns: cols });
    assert.equal(await clickhouseClient(['-q', `SELECT * FROM ${table}_cols ORDER BY k FORMAT TSV`]), expected);
  });

  test('expression-only types: Nothing, Interval, IPv4/IPv6 functions, binary strings as bytes', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const sql =
      "SELECT NULL AS nul, [] AS empty, toIntervalDay(3) AS iv, IPv4NumToString(toUInt32(3232235777)) AS ip4, " +
      "IPv6NumToString(IPv6StringToNum('2001:db8::ff00:42:8329')) AS ip6, IPv4StringToNum('10.0.0.1') AS ip4n, " +
      "toDateTime(1700000000, 'America/New_York') AS ny, arrayJoin([1, 2]) AS j";
    const expected = await clickhouseClient(['-q', `${sql} FORMAT TSV`]);
    const rs = await createClient({ url: url(), rows: 'array' }).query({ query: sql });
    const rows = await rs.json<unknown[]>();
    assert.deepEqual(rs.meta.map((m) => m.type), ['Nullable(Nothing)', 'Array(Nothing)', 'IntervalDay', 'String', 'String', 'UInt32', "DateTime('America/New_York')", 'UInt8']);
    assert.equal(tsvOf(rows, rs.meta.map((m) => m.type), 'Etc/UTC'), expected);
    assert.deepEqual(rows[0]!.slice(0, 6), [null, [], 3, '192.168.1.1', '2001:db8::ff00:42:8329', 167772161]);

    // Arbitrary bytes (not UTF-8) are exact with strings: 'bytes'.
    const bin = createClient({ url: url(), strings: 'bytes' });
    const r = await (await bin.query({ query: "SELECT unhex('00ff80c328fe') AS b, toFixedString(unhex('ff00'), 3) AS fb" })).json<{ b: Uint8Array; fb: Uint8Array }>();
    const [[hb, hfb]] = (await serverQuery("SELECT hex(unhex('00ff80c328fe')), hex(toFixedString(unhex('ff00'), 3))")) as [[string, string]];
    assert.equal(Buffer.from(r[0]!.b).toString('hex').toUpperCase(), hb);
    assert.equal(Buffer.from(r[0]!.fb).toString('hex').toUpperCase(), hfb);
    await bin.close();
  });

  test('exceptions: codes, types and messages preserved; the connection stays usable', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url(), max_open_connections: 1 });
    try {
      await assert.rejects(c.query({ query: 'SELECT * FROM default.chwire_no_such_table_xyz' }), (e: unknown) => {
        assert.ok(e instanceof ClickHouseError);
        assert.equal(e.code, 60);
        assert.equal(e.type, 'DB::Exception');
        assert.match(e.message, /chwire_no_such_table_xyz/);
        assert.match(e.serverStackTrace, /StackTrace|libclickhouse|clickhouse/);
        return true;
      });
      await assert.rejects(c.query({ query: 'SELECT throwIf(number = 3) FROM system.numbers LIMIT 10' }).then((r) => r.json()), (e: unknown) => {
        assert.ok(e instanceof ClickHouseError);
        assert.equal(e.code, 395);
        assert.match(e.message, /throwIf/);
        return true;
      });
      await assert.rejects(c.command({ query: 'SELEC 1' }), (e: unknown) => e instanceof ClickHouseError && e.code === 62);
      // The error comes mid-stream after rows were delivered: still a ClickHouseError, from the iterator.
      const rs = await c.query({ query: 'SELECT throwIf(number = 200000) FROM system.numbers LIMIT 300000', clickhouse_settings: { max_block_size: 1000 } });
      let seen = 0;
      await assert.rejects(
        (async () => {
          for await (const b of rs) seen += b.rowCount;
        })(),
        (e: unknown) => e instanceof ClickHouseError && e.code === 395,
      );
      assert.ok(seen > 0 && seen <= 200000, `rows before the error: ${seen}`);
      // Same client, still working.
      assert.deepEqual(await (await c.query({ query: 'SELECT 1 AS x' })).json(), [{ x: 1 }]);
    } finally {
      await c.close();
    }
  });

  test('exception class and text of a remote failure are preserved (DB::NetException, code 279)', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    // 18.16 flattens remote errors into one exception (has_nested = 0 on every path we could reach);
    // the nested-exception layout is covered by the packet vectors. Here: the class name and code.
    const sql = `SELECT * FROM remote('127.0.0.1:${srv.tcpPortB}', default, chwire_no_such_remote_table)`;
    const oracle = await clickhouseClient(['-q', sql]).then(
      () => '',
      (e: Error) => e.message,
    );
    const e = await client.query({ query: sql }).then(
      () => undefined,
      (x: unknown) => x,
    );
    assert.ok(e instanceof ClickHouseError, 'a server exception');
    const m = /Code: (\d+)\. DB::Exception: Received from \S+\. (DB::\w+)\. /.exec(oracle);
    assert.ok(m, oracle);
    assert.equal(e.code, Number(m[1]));
    assert.equal(e.code, 279);
    assert.equal(e.type, m[2]);
    assert.equal(e.type, 'DB::NetException');
    assert.match(e.message, /There is no table default\.chwire_no_such_remote_table on server: 127\.0\.0\.1:/);
    for (let x: ClickHouseError | undefined = e; x; x = x.nested) assert.equal(typeof x.code, 'number');
  });

  test('settings: client-wide and per-query (SET on this server), with a visible effect', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url(), max_open_connections: 1, clickhouse_settings: { max_block_size: 1234, readonly: 0 } });
    try {
      const setting = async (s?: Record<string, number>) =>
        (await (await c.query({ query: "SELECT value FROM system.settings WHERE name = 'max_block_size'", ...(s ? { clickhouse_settings: s } : {}) })).json<{ value: string }>())[0]!.value;
      const blockSizes = async (s?: Record<string, number>) => {
        const sizes: number[] = [];
        for await (const b of await c.query({ query: 'SELECT number FROM system.numbers LIMIT 5000', ...(s ? { clickhouse_settings: s } : {}) })) sizes.push(b.rowCount);
        return sizes;
      };
      assert.equal(await setting(), '1234');
      assert.deepEqual(await blockSizes(), [1234, 1234, 1234, 1234, 64]);
      assert.equal(await setting({ max_block_size: 777 }), '777');
      assert.deepEqual((await blockSizes({ max_block_size: 2000 })), [2000, 2000, 1000]);
      // A per-query setting does not leak into the next query.
      assert.equal(await setting(), '1234');
      // A setting the server does not know is an error naming it.
      await assert.rejects(c.query({ query: 'SELECT 1', clickhouse_settings: { chwire_no_such_setting: 1 } }), (e: unknown) => e instanceof ClickHouseError && /chwire_no_such_setting/.test(e.message));
      assert.equal(await setting(), '1234');
    } finally {
      await c.close();
    }
  });

  test('client-side parameter binding: escaping, arrays, dates, NULL, never inside literals', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const nasty = "it's a \\ back'slash\nnew\tline ' OR 1=1 -- {s:String} ü\0";
    const rs = await client.query({
      query:
        "SELECT {s:String} AS s, '{s:String}' AS lit, {a:Array(String)} AS a, {d:Date} AS d, {dt:DateTime} AS dt, " +
        '{n:Nullable(Int32)} AS n, {i:Int64} AS i, {f:Float64} AS f, {ai:Array(Nullable(UInt8))} AS ai, {t:Tuple(String, UInt8)} AS t -- {s:String}',
      query_params: {
        s: nasty,
        a: ["x'y", 'b\\', '', '}{'],
        d: new Date(Date.UTC(2020, 1, 29)),
        dt: new Date(Date.UTC(2021, 5, 7, 8, 9, 10)),
        n: null,
        i: -9223372036854775808n,
        f: 0.1,
        ai: [1, null, 255],
        t: ["q'", 7],
      },
    });
    const [row] = await rs.json<Record<string, unknown>>();
    assert.deepEqual(row, {
      s: nasty,
      lit: '{s:String}',
      a: ["x'y", 'b\\', '', '}{'],
      d: '2020-02-29',
      dt: new Date(Date.UTC(2021, 5, 7, 8, 9, 10)),
      n: null,
      i: -9223372036854775808n,
      f: 0.1,
      ai: [1, null, 255],
      t: ["q'", 7],
    });
    assert.deepEqual(rs.meta.map((m) => m.type).slice(0, 5), ['String', 'String', 'Array(String)', 'Date', 'DateTime']);
    assert.equal(rs.meta[6]!.type, 'Int64');
    await assert.rejects(client.query({ query: 'SELECT {x:UInt8}', query_params: {} }), /x/);
  });

  test('client-side binding keeps the declared type of a NULL parameter', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const rs = await client.query({ query: 'SELECT {n:Nullable(Int32)} AS n, {m:Nullable(String)} AS m', query_params: { n: null, m: null } });
    assert.deepEqual(await rs.json(), [{ n: null, m: null }]);
    assert.deepEqual(rs.meta.map((m) => m.type), ['Nullable(Int32)', 'Nullable(String)']);
  });

  test('Cancel mid-stream: prompt, and the same connection (same client port) serves the next query', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const c = createClient({ url: url(), max_open_connections: 1 });
    try {
      const portOf = async (qid: string) => {
        const r = await serverQuery(`SELECT port FROM system.processes WHERE query_id = '${qid}'`);
        return r.length ? Number(r[0]![0]) : undefined;
      };
      // 1. Breaking out of iteration cancels an endless query.
      const qid = `chwire-cancel-${uniq}`;
      const rs = await c.query({ query: 'SELECT number FROM system.numbers', query_id: qid });
      let rows = 0;
      let port: number | undefined;
      for await (const b of rs) {
        rows += b.rowCount;
        port ??= await portOf(qid);
        if (rows > 500_000) break;
      }
      assert.ok(port, 'the running query was visible in system.processes');
      const started = Date.now();
      const r2 = await (await c.query({ query: `SELECT port FROM system.processes WHERE query_id = 'chwire-next-${uniq}'`, query_id: `chwire-next-${uniq}` })).json<{ port: number }>();
      assert.ok(Date.now() - started < 2000);
      assert.equal(r2[0]!.port, port, 'the next query ran on the same connection');
      assert.deepEqual(await serverQuery(`SELECT count() FROM system.processes WHERE query_id = '${qid}'`), [['0']], 'the server stopped the query');

      // 2. An AbortSignal mid-stream: AbortError, then reuse.
      const ac = new AbortController();
      const qid2 = `chwire-abort-${uniq}`;
      const rs2 = await c.query({ query: 'SELECT number FROM system.numbers', query_id: qid2, abort_signal: ac.signal });
      let port2: number | undefined;
      let aborted = 0;
      await assert.rejects(
        (async () => {
          for await (const _b of rs2) {
            port2 ??= await portOf(qid2);
            if (!aborted) {
              aborted = Date.now();
              ac.abort();
            }
          }
        })(),
        (e: unknown) => (e as { code?: string }).code === 'CHWIRE_ABORTED',
      );
      assert.ok(Date.now() - aborted < 1000, `AbortError after ${Date.now() - aborted} ms`);
      const r3 = await (await c.query({ query: `SELECT port FROM system.processes WHERE query_id = 'chwire-next2-${uniq}'`, query_id: `chwire-next2-${uniq}` })).json<{ port: number }>();
      assert.equal(r3[0]!.port, port2);
    } finally {
      await c.close();
    }
  });

  test('Ping', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    assert.equal(await client.ping(), true);
    for (let i = 0; i < 20; i++) assert.equal(await client.ping(), true);
  });

  for (const method of ['lz4', 'zstd'] as const) {
    test(`${method} compression both ways, visible on the wire`, async (t) => {
      if (!srv) return t.skip('no ClickHouse server');
      const methodByte = method === 'lz4' ? 0x82 : 0x90;
      const proxy = new RecordingProxy(srv.tcpPort);
      await proxy.start();
      const table = `default.chwire_tcp_${method}_${uniq}`;
      tables.push(table);
      await serverExec(`CREATE TABLE ${table} (id UInt64, s String, f Float64) ENGINE = Memory`);
      const c = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}`, compression: method, max_open_connections: 1 });
      try {
        // SELECT: 2M rows of a repetitive result (≈ 58 MB raw: the same query uncompressed, measured
        // through the proxy first) arrive in a small fraction of the bytes.
        const sql = "SELECT toUInt64(number % 1000) AS id, 'repeat repeat repeat' AS s FROM system.numbers LIMIT 2000000";
        const plain = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}`, compression: 'none', max_open_connections: 1 });
        for await (const _b of await plain.query({ query: sql }));
        await plain.close();
        const raw = proxy.bytesFrom('server');
        assert.ok(raw > 40_000_000, `uncompressed: ${raw} bytes`);
        proxy.sessions = [];
        let sum = 0n;
        let n = 0;
        for await (const b of await c.query({ query: sql })) {
          const ids = b.columns[0]!.toArray() as BigUint64Array;
          for (let i = 0; i < ids.length; i++) sum += ids[i]!;
          n += b.rowCount;
          assert.equal((b.columns[1]!.toArray() as string[])[0], 'repeat repeat repeat');
        }
        assert.equal(n, 2_000_000);
        assert.equal(sum, 999000000n);
        const down = proxy.bytesFrom('server');
        assert.ok(down < raw / 5, `server sent ${down} bytes compressed vs ${raw} plain`);
        // The SELECT's response turn: a Data packet (1), empty table name, 16-byte checksum, method byte.
        const turns = proxy.sessions[0]!;
        const resp = Buffer.concat(turns[turns.length - 1]!.bytes);
        assert.equal(resp[0], 1);
        assert.equal(resp[1], 0);
        assert.equal(resp[18], methodByte, `frame method 0x${resp[18]!.toString(16)}`);

        // INSERT: 1M rows compressed by the client; the server decompresses (it checks the checksums).
        const before = proxy.bytesFrom('client');
        const N = 1_000_000;
        const ids = new BigUint64Array(N).map((_, i) => BigInt(i % 1000));
        const s = new Array<string>(N).fill('same string every row');
        const f = new Float64Array(N).fill(2.5);
        await c.insert({ table, columns: { id: ids, s, f } });
        const up = proxy.bytesFrom('client') - before;
        assert.ok(up < 6_000_000, `client sent ${up} bytes for ≈ 38 MB of column data`);
        assert.ok(up > 1000);
        const sent = Buffer.concat(proxy.sessions.flatMap((x) => x.filter((y) => y.from === 'client').flatMap((y) => y.bytes)));
        // Some client Data packet (2, '', checksum) carries a frame of this method.
        let found = false;
        for (let i = sent.indexOf(2); i >= 0 && i + 18 < sent.length; i = sent.indexOf(2, i + 1)) {
          if (sent[i + 1] === 0 && sent[i + 18] === methodByte && sent.readUInt32LE(i + 19) > 1000) {
            found = true;
            break;
          }
        }
        assert.ok(found, 'a compressed client Data frame');
        assert.deepEqual(await serverQuery(`SELECT count(), sum(id), uniqExact(s), sum(f) FROM ${table}`), [['1000000', '499500000', '1', 2500000]]);
      } finally {
        await c.close();
        await proxy.stop();
      }
    });
  }

  test("Log packets with send_logs_level = 'trace' arrive as log events", async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    // The test servers log at level 'warning', which caps what send_logs_level can forward: a
    // failing query's executeQuery error is a message that always comes (as with clickhouse-client).
    const c = createClient({ url: url() });
    try {
      const logs: Record<string, unknown>[] = [];
      const qid = `chwire-logs-${uniq}`;
      await assert.rejects(
        c.query({ query: 'SELECT throwIf(1)', query_id: qid, clickhouse_settings: { send_logs_level: 'trace' }, on_log: (e) => logs.push(e) }).then((r) => r.json()),
        (e: unknown) => e instanceof ClickHouseError && e.code === 395,
      );
      assert.ok(logs.length > 0, 'log entries');
      const err = logs.find((l) => /executeQuery/.test(String(l.source)));
      assert.ok(err, JSON.stringify(logs.map((l) => l.source)));
      assert.equal(err.query_id, qid);
      assert.match(String(err.text), /Code: 395.*throwIf/s);
      assert.equal(typeof err.host_name, 'string');
      assert.ok(err.event_time instanceof Date);
      assert.ok(Math.abs((err.event_time as Date).getTime() - Date.now()) < 60_000);
      // Warnings from a remote() that fails, through command() too.
      const warn: Record<string, unknown>[] = [];
      await assert.rejects(
        c.command({ query: `SELECT * FROM remote('127.0.0.1:1', system.one)`, clickhouse_settings: { send_logs_level: 'trace', connections_with_failover_max_tries: 2 }, on_log: (e) => warn.push(e) }),
        (e: unknown) => e instanceof ClickHouseError && e.code === 279,
      );
      assert.ok(warn.some((l) => /Connection failed at try/.test(String(l.text))), JSON.stringify(warn.map((l) => l.text)));
      // Without the setting: no log packets.
      const none: unknown[] = [];
      await assert.rejects(c.query({ query: 'SELECT throwIf(1)', on_log: (e) => none.push(e) }));
      assert.equal(none.length, 0);
    } finally {
      await c.close();
    }
  });

  test('Totals and Extremes', async (t) => {
    if (!srv) return t.skip('no ClickHouse server');
    const rs = await client.query({
      query: 'SELECT number % 3 AS k, sum(number) AS s FROM numbers(10) GROUP BY k WITH TOTALS ORDER BY k',
      clickhouse_settings: { extremes: 1 },
    });
    assert.deepEqual(await rs.json(), [
      { k: 0, s: 18n },
      { k: 1, s: 12n },
      { k: 2, s: 15n },
    ]);
    assert.ok(rs.totals, 'totals');
    assert.deepEqual(rs.totals.columns.map((c) => Array.from(c.toArray() as ArrayLike<unknown>)), [[0], [45n]]);
    assert.ok(rs.extremes, 'extremes');
    assert.deepEqual(rs.extremes.columns.map((c) => Array.from(c.toArray() as ArrayLike<unknown>)), [
      [0, 2],
      [12n, 18n],
    ]);
    // Same against clickhouse-client's JSON (totals / extremes sections).
    const j = JSON.parse(await clickhouseClient(['--extremes=1', '-q', 'SELECT number % 3 AS k, sum(number) AS s FROM numbers(10) GROUP BY k WITH TOTALS ORDER BY k FORMAT JSONCompact'])) as {
      totals: unknown[];
      extremes: { min: unknown[]; max: unknown[] };
    };
    assert.deepEqual(j.totals, [0, '45']);
    assert.deepEqual(j.extremes, { min: [0, '12'], max: [2, '18'] });
  });

  for (const compression of ['none', 'lz4'] as const) {
    test(`Connection fed the server's recorded bytes in chunks of 1, 2, 3, 7, 64 gives the same events (${compression})`, async (t) => {
      if (!srv) return t.skip('no ClickHouse server');
      const proxy = new RecordingProxy(srv.tcpPort);
      await proxy.start();
      const c = createClient({ url: `clickhouse://127.0.0.1:${proxy.port}`, compression, max_open_connections: 1 });
      const queries = [
        "SELECT number AS n, toString(number) AS s, [number, 1] AS a, if(number % 2, NULL, number) AS nn, toLowCardinality(toString(number % 3)) AS lc, toDecimal64(number, 3) AS d FROM numbers(3000) SETTINGS max_block_size = 1000",
        'SELECT number % 3 AS k, count() AS c FROM numbers(1000) GROUP BY k WITH TOTALS ORDER BY k SETTINGS extremes = 1',
        'SELECT throwIf(number = 2500) FROM numbers(3000) SETTINGS max_block_size = 1000',
        'SELECT 1',
        '', // ping
        // Last: an exception before any Data packet makes the connection non-reusable (18.16 then
        // answers our trailing empty block with a second exception, which the Connection swallows).
        'SELECT throwIf(1)',
      ];
      try {
        for (const q of queries) {
          if (q === '') assert.equal(await c.ping(), true);
          else await c.query({ query: q }).then((r) => r.json()).catch(() => undefined);
        }
        await new Promise((r) => setTimeout(r, 100));
      } finally {
        await c.close();
        await proxy.stop();
      }
      assert.equal(proxy.sessions.length, 1);
      const turns = proxy.sessions[0]!;
      const serverTurns = turns.filter((x) => x.from === 'server').map((x) => Buffer.concat(x.bytes));
      assert.equal(serverTurns.length, 1 + queries.length, 'hello, one response per query or ping');
      const codecs = compression === 'none' ? undefined : await createNodeCodecs();
      const replay = (chunk: number): unknown[] => {
        const conn = new Connection({ clientName: 'chwire-test', compression, ...(codecs ? { codecs } : {}) });
        const events: unknown[] = [];
        serverTurns.forEach((bytes, i) => {
          if (i >= 1) {
            if (queries[i - 1] === '') conn.ping();
            else conn.query({ query: queries[i - 1]! });
          }
          for (let p = 0; p < bytes.length; p += chunk) for (const e of conn.receive(bytes.subarray(p, Math.min(bytes.length, p + chunk)))) events.push(plainEvent(e));
          assert.equal(conn.state, 'idle', `idle after turn ${i} (chunk ${chunk})`);
        });
        return events;
      };
      const whole = replay(1 << 30);
      const types = whole.map((e) => (e as { type: string }).type);
      assert.equal(types[0], 'hello');
      assert.ok(types.filter((x) => x === 'data').length >= 4);
      for (const need of ['progress', 'profileInfo', 'totals', 'extremes', 'exception', 'endOfStream', 'pong']) assert.ok(types.includes(need), `event ${need}`);
      assert.equal(types.filter((x) => x === 'exception').length, 2);
      assert.equal(types[types.length - 1], 'exception');
      const data = whole.filter((e) => (e as { type: string }).type === 'data') as { block: { rows: number; columns: { values: unknown[] }[] } }[];
      assert.ok(data.reduce((a, d) => a + d.block.rows, 0) >= 3000 + 3 + 1 + 2000);
      for (const chunk of [1, 2, 3, 7, 64]) assert.deepStrictEqual(replay(chunk), whole, `chunk size ${chunk}`);
    });
  }

  test('no unhandled rejections in this file', () => leaks.assertNone(50));
});

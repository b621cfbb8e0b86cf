// Client-side parameter binding (servers < 54459 and the embedded engine): every substituted
// expression is self-contained (never a bare leading '-': `10-{x}` with -5 must not become the
// comment `10--5`), has the placeholder's declared type, and a value that does not fit is an
// EncodeError 'CHWIRE_BAD_PARAM'. Checked as SQL text, then against the real 18.16 server over
// TCP and HTTP (both bind client-side there) and against the embedded engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, type ClickHouseClient } from '../src/index.js';
import { bindQueryParams, formatSqlLiteral, type ParamValue } from '../src/core/protocol/index.js';
import { serverQuery, testServer } from './helpers/server.js';
import { hasEngine } from './helpers/engine.js';

const badParam = (name: string, type: string, value: string) => (e: unknown) => {
  const err = e as { code?: string; message?: string };
  return (
    err.code === 'CHWIRE_BAD_PARAM' &&
    !!err.message?.includes(`'${name}'`) &&
    err.message.includes(type) &&
    err.message.includes(value)
  );
};

test('negative values never substitute a bare leading minus', () => {
  assert.equal(bindQueryParams('SELECT 10-{x:Int32}', { x: -5 }), 'SELECT 10-(-5)');
  assert.equal(bindQueryParams('SELECT 10-{x:Int64} -- note', { x: -5n }), 'SELECT 10-(-5) -- note');
  assert.equal(bindQueryParams('SELECT 10-{x:Float64}', { x: -1.5 }), 'SELECT 10-(-1.5)');
  assert.equal(bindQueryParams('SELECT 10-{x:Float64}', { x: -Infinity }), 'SELECT 10-(-inf)');
  assert.equal(bindQueryParams('SELECT 10-{x:Float64}', { x: -0 }), 'SELECT 10-(-0.0)');
  assert.equal(bindQueryParams('SELECT 10-{x:Int32}', { x: '-5' }), 'SELECT 10-(-5)');
  // Untyped nested values too (a Tuple of no declared element types is not possible, but arrays are).
  assert.equal(formatSqlLiteral([-1, -2n, -0.5] as never), '[(-1), (-2), (-0.5)]');
  for (const [v, type] of [
    [-1, 'Int8'], [-1n, 'Int256'], [-1e-300, 'Float64'], [-5e-324, 'Float64'], [-1.5, 'Float32'], [-1.5, 'Decimal(9, 2)'],
    [-1, 'Nullable(Int16)'], [-1, undefined], [-1n, undefined], [-Infinity, undefined],
  ] as [ParamValue, string | undefined][]) {
    const e = formatSqlLiteral(v, type);
    assert.ok(!/^[-/*]/.test(e), `${String(v)} as ${type}: ${e}`);
  }
});

test('substituted text never merges with the text around it', () => {
  assert.equal(bindQueryParams('SELECT 1{x:UInt8}', { x: 5 }), 'SELECT 1 5');
  assert.equal(bindQueryParams('SELECT {a:UInt8}{b:UInt8}', { a: 1, b: 2 }), 'SELECT 1 2');
  assert.equal(bindQueryParams('SELECT {x:UInt8}.5', { x: 5 }), 'SELECT 5 .5');
  assert.equal(bindQueryParams("SELECT 'a'{s:String}'c'", { s: 'b' }), "SELECT 'a' 'b' 'c'");
  assert.equal(bindQueryParams('SELECT `a`{t:Identifier}', { t: 'b' }), 'SELECT `a` `b`');
  // The usual spacing is left as it is.
  assert.equal(bindQueryParams('SELECT ({x:UInt8}), [{x:UInt8}], t.{c:Identifier}', { x: 1, c: 'c' }), 'SELECT (1), [1], t.`c`');
});

test('values are checked against the declared type', () => {
  assert.throws(() => bindQueryParams('SELECT {n:Int8}', { n: 300 }), badParam('n', 'Int8', '300'));
  assert.throws(() => bindQueryParams('SELECT {n:UInt8}', { n: -1 }), badParam('n', 'UInt8', '-1'));
  assert.throws(() => bindQueryParams('SELECT {n:Int32}', { n: 1.5 }), badParam('n', 'Int32', '1.5'));
  assert.throws(() => bindQueryParams('SELECT {n:Int32}', { n: '1.5' }), badParam('n', 'Int32', '"1.5"'));
  assert.throws(() => bindQueryParams('SELECT {n:UInt16}', { n: '1e3' }), badParam('n', 'UInt16', '"1e3"'));
  assert.throws(() => bindQueryParams('SELECT {n:UInt64}', { n: 2n ** 64n }), badParam('n', 'UInt64', '18446744073709551616n'));
  assert.throws(() => bindQueryParams('SELECT {n:Int64}', { n: NaN }), badParam('n', 'Int64', 'NaN'));
  assert.throws(() => bindQueryParams('SELECT {f:Float64}', { f: 'abc' }), badParam('f', 'Float64', '"abc"'));
  assert.throws(() => bindQueryParams('SELECT {f:Float32}', { f: 1e300 }), badParam('f', 'Float32', '1e+300'));
  assert.throws(() => bindQueryParams('SELECT {p:Decimal(9,2)}', { p: 1.555 }), badParam('p', 'Decimal(9,2)', '1.555'));
  assert.throws(() => bindQueryParams('SELECT {p:Decimal(9,2)}', { p: 12345678 }), badParam('p', 'Decimal(9,2)', '12345678'));
  assert.throws(() => bindQueryParams('SELECT {s:FixedString(2)}', { s: 'abc' }), badParam('s', 'FixedString(2)', '"abc"'));
  assert.throws(() => bindQueryParams('SELECT {d:Date}', { d: 70000 }), badParam('d', 'Date', '70000'));
  assert.throws(() => bindQueryParams('SELECT {t:DateTime}', { t: '1969-12-31T23:59:59Z' }), badParam('t', 'DateTime', '1969'));
  assert.throws(() => bindQueryParams('SELECT {a:Array(Int8)}', { a: [1, 200] }), badParam('a', 'Array(Int8)', '200'));
  assert.throws(() => bindQueryParams('SELECT {a:Tuple(UInt8, String)}', { a: [1] }), badParam('a', 'Tuple(UInt8, String)', 'array of 1'));
  assert.throws(() => bindQueryParams('SELECT {b:Bool}', { b: 2 }), badParam('b', 'Bool', '2'));
});

test('SQL of each declared type', () => {
  const cases: [ParamValue, string, string][] = [
    // Non-negative integers stay bare literals (old servers' LIMIT takes nothing else); strings are normalised.
    [300, 'UInt32', '300'],
    [' 007 ', 'UInt8', '7'],
    [2n ** 64n - 1n, 'UInt64', '18446744073709551615'],
    [2n ** 100n, 'UInt128', "toUInt128('1267650600228229401496703205376')"],
    [true, 'UInt8', '1'],
    // Floats: always a Float64 literal; exponents as JS prints them; subnormals as an exact division.
    [1, 'Float64', '1.0'],
    [1e-7, 'Float64', '1e-7'],
    [1e21, 'Float64', '1e+21'],
    [5e-324, 'Float64', '(5.696189077778436e-306 / 1152921504606846976)'],
    [NaN, 'Float64', 'nan'],
    ['2.5', 'Float64', '2.5'],
    [12n, 'Float64', '12.0'],
    [1.5, 'Float32', 'toFloat32(1.5)'],
    [1.5, 'Decimal(9,2)', "CAST('1.5' AS Decimal(9,2))"],
    [1e-7, 'Decimal(18, 10)', "CAST('0.0000001' AS Decimal(18, 10))"],
    ['-12.50', 'Decimal64(2)', "CAST('-12.5' AS Decimal64(2))"],
    [5n, 'String', "'5'"],
    [true, 'String', "'true'"],
    ['ab', 'FixedString(3)', "toFixedString('ab', 3)"],
    [2, "Enum8('a' = 1, 'b' = 2)", "CAST(2 AS Enum8('a' = 1, 'b' = 2))"],
    [[], 'Array(String)', 'CAST([] AS Array(String))'],
    [[1, 2], 'Array(Float64)', '[1.0, 2.0]'],
    [[1, -2], 'Array(Int32)', '[toInt32(1), toInt32(-2)]'],
    [[1, 2], 'Array(UInt8)', '[1, 2]'],
    [[1, 'x'], 'Tuple(Int64, String)', "tuple(toInt64(1), 'x')"],
    [19000, 'Date', "toDate('2022-01-08')"],
    ['2020-01-01T00:00:00Z', 'DateTime', 'toDateTime(1577836800)'],
    ['2020-01-01 00:00:00+03:00', "DateTime('UTC')", "toDateTime(1577826000, 'UTC')"],
    ['2020-01-01 03:00:00', 'DateTime', "toDateTime('2020-01-01 03:00:00')"],
    ['2020-01-01T00:00:00.123456-01:30', 'DateTime64(6)', "toDateTime64('2020-01-01 01:30:00.123456', 6, 'UTC')"],
    [1709168523.004, "DateTime64(3, 'UTC')", "toTimeZone(toDateTime64('2024-02-29 01:02:03.004', 3, 'UTC'), 'UTC')"],
  ];
  for (const [v, type, sql] of cases) assert.equal(formatSqlLiteral(v, type, 'p'), sql, `${String(v)} as ${type}`);
});

// ---------------------------------------------------------------- against real servers

/** [placeholder type, value, toTypeName, toString] as 18.16 answers. */
const TYPED: [string, ParamValue, string, string][] = [
  ['Int32', -5, 'Int8', '-5'],
  ['Int64', -9223372036854775808n, 'Int64', '-9223372036854775808'],
  ['UInt64', 18446744073709551615n, 'UInt64', '18446744073709551615'],
  ['Float64', 1, 'Float64', '1'],
  ['Float64', 5e-324, 'Float64', '5e-324'],
  ['Float64', -5e-324, 'Float64', '-5e-324'],
  ['Float64', 1e-7, 'Float64', '1e-7'],
  ['Float64', 1e21, 'Float64', '1e21'],
  ['Float64', -Infinity, 'Float64', '-inf'],
  ['Float32', -1.5, 'Float32', '-1.5'],
  ['Decimal(9,2)', 1.5, 'Decimal(9, 2)', '1.50'],
  ['Decimal(18,10)', 1e-7, 'Decimal(18, 10)', '0.0000001000'],
  ['String', 5n, 'String', '5'],
  ['String', true, 'String', 'true'],
  ['FixedString(3)', 'ab', 'FixedString(3)', 'ab'],
  ["Enum8('a' = 1, 'b' = 2)", 'b', "Enum8('a' = 1, 'b' = 2)", 'b'],
  ['Array(String)', [], 'Array(String)', '[]'],
  ['Array(Float64)', [1, 2], 'Array(Float64)', '[1,2]'],
  ['Array(Int32)', [1, -2], 'Array(Int32)', '[1,-2]'],
  ['Array(Array(UInt32))', [[]], 'Array(Array(UInt32))', '[[]]'],
  ['Date', 19000, 'Date', '2022-01-08'],
  ['DateTime', '2020-01-01T00:00:00Z', 'DateTime', '2020-01-01 00:00:00'],
  ["DateTime('Asia/Tokyo')", '2020-01-01 00:00:00+03:00', "DateTime('Asia/Tokyo')", '2020-01-01 06:00:00'],
];

async function checkTyped(c: ClickHouseClient, cases: [string, ParamValue, string, string][]): Promise<void> {
  for (const [type, value, tn, text] of cases) {
    const rs = await c.query({ query: `SELECT toTypeName({p:${type}}) AS t, toString({p:${type}}) AS v`, query_params: { p: value } });
    assert.deepEqual(await rs.json(), [{ t: tn, v: text }], `${String(value)} as ${type}`);
  }
}

/** The tester's scenario: negative parameters after a minus sign, with a filter after them. */
async function checkNegative(c: ClickHouseClient, table: string): Promise<void> {
  await c.command({ query: `DROP TABLE IF EXISTS ${table}` });
  await c.command({ query: `CREATE TABLE ${table} (tenant UInt32, balance Int64, price Decimal(9, 2)) ENGINE = Memory` });
  try {
    await c.insert({ table, values: [{ tenant: 1, balance: 100, price: '1.50' }, { tenant: 2, balance: 5000, price: '2.00' }] });
    const rows = await (
      await c.query({
        query: `SELECT tenant, balance FROM ${table} WHERE balance > 0-{delta:Int64} AND tenant = {tenant:UInt32}`,
        query_params: { delta: -10, tenant: 1 },
      })
    ).json();
    assert.deepEqual(rows, [{ tenant: 1, balance: 100n }]);
    const v = await (await c.query({ query: 'SELECT 10-{x:Int32} AS v, 10-{y:Int64} AS w', query_params: { x: -5, y: -5n } })).json();
    assert.deepEqual(v, [{ v: 15, w: 15 }]);
    const n = await (
      await c.query({ query: `SELECT count() AS n FROM ${table} WHERE price = {p:Decimal(9,2)}`, query_params: { p: 1.5 } })
    ).json();
    assert.deepEqual(n, [{ n: 1n }]);
    const lim = await (await c.query({ query: `SELECT tenant FROM ${table} ORDER BY tenant LIMIT {n:UInt32}`, query_params: { n: 1 } })).json();
    assert.deepEqual(lim, [{ tenant: 1 }]);
    const has = await (await c.query({ query: "SELECT has({tags:Array(String)}, 'x') AS v", query_params: { tags: [] } })).json();
    assert.deepEqual(has, [{ v: 0 }]);
  } finally {
    await c.command({ query: `DROP TABLE IF EXISTS ${table}` });
  }
}

async function checkRejected(c: ClickHouseClient): Promise<void> {
  await assert.rejects(c.query({ query: 'SELECT {n:Int8} AS v', query_params: { n: 300 } }), badParam('n', 'Int8', '300'));
  await assert.rejects(c.query({ query: 'SELECT {n:UInt8} AS v', query_params: { n: -1 } }), badParam('n', 'UInt8', '-1'));
  // The connection is still usable.
  assert.deepEqual(await (await c.query({ query: 'SELECT {n:UInt8} AS v', query_params: { n: 1 } })).json(), [{ v: 1 }]);
}

test('18.16 over TCP: negative, typed and rejected parameters', async (t) => {
  const srv = await testServer();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: `clickhouse://${srv.host}:${srv.tcpPort}` });
  try {
    await checkNegative(c, 'default.chwire_params_tcp');
    await checkTyped(c, TYPED);
    await checkRejected(c);
    // The same expressions straight through clickhouse-client.
    const [row] = await serverQuery(`SELECT toString(${formatSqlLiteral(5e-324, 'Float64')}), 1-${formatSqlLiteral(-2, 'Int8')}`);
    assert.deepEqual(row, ['5e-324', 3]);
  } finally {
    await c.close();
  }
});

test('18.16 over HTTP (binds client-side too)', async (t) => {
  const srv = await testServer();
  if (!srv) return t.skip('no ClickHouse server');
  const c = createClient({ url: `http://${srv.host}:${srv.httpPort}` });
  try {
    await checkNegative(c, 'default.chwire_params_http');
    await checkTyped(c, TYPED.slice(0, 8));
    await checkRejected(c);
  } finally {
    await c.close();
  }
});

test('embedded engine: negative, typed and date-time parameters', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const c = createClient({ url: 'chdb:' });
  try {
    const v = await (await c.query({ query: 'SELECT 10-{x:Int32} AS v', query_params: { x: -5 } })).json();
    assert.deepEqual(v, [{ v: 15 }]);
    await checkTyped(c, [
      ['Float64', 5e-324, 'Float64', '5e-324'],
      ['Decimal(9,2)', 1.5, 'Decimal(9, 2)', '1.5'],
      ['String', true, 'String', 'true'],
      ['Array(String)', [], 'Array(String)', '[]'],
      ['UInt128', 2n ** 100n, 'UInt128', '1267650600228229401496703205376'],
      ["DateTime('UTC')", '2020-01-01T00:00:00Z', "DateTime('UTC')", '2020-01-01 00:00:00'],
      ["DateTime64(6, 'Asia/Tokyo')", '2020-01-01 00:00:00.123456+03:00', "DateTime64(6, 'Asia/Tokyo')", '2020-01-01 06:00:00.123456'],
      ["DateTime64(3, 'UTC')", '2020-01-01T00:00:00.5Z', "DateTime64(3, 'UTC')", '2020-01-01 00:00:00.500'],
    ]);
  } finally {
    await c.close();
  }
});

// The real engine (chDB = ClickHouse 26.7) as the oracle for Native bytes:
// chwire decodes what the engine writes and matches the engine's own JSON;
// re-encoding reproduces the engine's bytes; plain JS values encoded by chwire
// are read back by the engine as what was meant.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNative, encodeNative, parseType, type TypeNode, type Block } from '../src/index.js';
import { engineNative, engineJSON, engineReadNative } from './helpers/engine.js';

/** Turn a chwire value into the engine's JSON form (settings in helpers/engine.ts). */
function toEngineJson(v: unknown, t: TypeNode): unknown {
  if (v === null) return null;
  switch (t.name) {
    case 'Nullable':
    case 'LowCardinality':
      return toEngineJson(v, (t.args[0] as { type: TypeNode }).type);
    case 'SimpleAggregateFunction':
      return toEngineJson(v, (t.args[t.args.length - 1] as { type: TypeNode }).type);
    case 'Array': {
      const inner = (t.args[0] as { type: TypeNode }).type;
      return Array.from(v as ArrayLike<unknown>, (x) => toEngineJson(x, inner));
    }
    case 'Tuple': {
      const els = t.args as { type: TypeNode; name?: string }[];
      if (Array.isArray(v)) return v.map((x, i) => toEngineJson(x, els[i]!.type));
      const o: Record<string, unknown> = {};
      for (const e of els) o[e.name!] = toEngineJson((v as Record<string, unknown>)[e.name!], e.type);
      return o;
    }
    case 'Map': {
      const [k, val] = t.args as { type: TypeNode }[];
      const o: Record<string, unknown> = {};
      for (const [a, b] of v as Map<unknown, unknown>) o[String(toEngineJson(a, k!.type))] = toEngineJson(b, val!.type);
      return o;
    }
    case 'Decimal': {
      // output_format_decimal_trailing_zeros=0
      const s = v as string;
      return s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
    }
    case 'Float32':
    case 'Float64':
    case 'BFloat16': {
      const n = v as number;
      if (Number.isNaN(n)) return 'nan';
      if (n === Infinity) return 'inf';
      if (n === -Infinity) return '-inf';
      if (t.name === 'Float64' || Object.is(n, -0)) return n;
      // The engine prints the shortest text that reads back as the same Float32.
      for (let p = 1; p <= 9; p++) {
        const s = Number(n.toPrecision(p));
        if (Math.fround(s) === n) return s;
      }
      return n;
    }
  }
  // Interval* are Int64 underneath: quoted like other 64-bit integers.
  if (typeof v === 'bigint' || t.name.startsWith('Interval')) return String(v);
  return v;
}

const STRING_OPTS = { dates: 'string', serverTimezone: 'UTC' } as const;

/**
 * ClickHouse 26.7's FORMAT Native writes `DateTime` without its time zone (the
 * JSON meta keeps it), so the zone for formatting comes from the meta.
 */
function nativeTypeOf(metaType: string): string {
  return metaType.replace(/^DateTime\('[^']*'\)$/, 'DateTime');
}
function zoneOf(metaType: string): string {
  return /^DateTime\('([^']*)'\)$/.exec(metaType)?.[1] ?? 'UTC';
}

function rowsAsEngineJson(blocks: Block[], meta: { type: string }[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const b of blocks) {
    const types = b.columns.map((c) => parseType(c.type));
    for (let i = 0; i < b.rowCount; i++) {
      const row: Record<string, unknown> = {};
      b.columns.forEach((c, j) => {
        const col = (c as any).withOptions({ ...STRING_OPTS, serverTimezone: zoneOf(meta[j]!.type) });
        row[c.name] = toEngineJson(col.get(i), types[j]!);
      });
      out.push(row);
    }
  }
  return out;
}

/** Cases: [label, SELECT list (over numbers(N) as `number`), rows, extra settings]. */
const CASES: [string, string, number?][] = [
  ['integers at their limits', `
    [toInt8(-128), toInt8(127), 0][number % 3 + 1] AS i8, [toUInt8(0), toUInt8(255)][number % 2 + 1] AS u8,
    [toInt16(-32768), toInt16(32767)][number % 2 + 1] AS i16, [toUInt16(0), 65535][number % 2 + 1] AS u16,
    [toInt32(-2147483648), toInt32(2147483647)][number % 2 + 1] AS i32, [toUInt32(0), toUInt32(4294967295)][number % 2 + 1] AS u32,
    [toInt64('-9223372036854775808'), toInt64('9223372036854775807')][number % 2 + 1] AS i64,
    [toUInt64(0), toUInt64('18446744073709551615')][number % 2 + 1] AS u64,
    [toInt128('-170141183460469231731687303715884105728'), toInt128('170141183460469231731687303715884105727')][number % 2 + 1] AS i128,
    [toUInt128(0), toUInt128('340282366920938463463374607431768211455')][number % 2 + 1] AS u128,
    [toInt256('-57896044618658097711785492504343953926634992332820282019728792003956564819968'), toInt256('57896044618658097711785492504343953926634992332820282019728792003956564819967')][number % 2 + 1] AS i256,
    [toUInt256(0), toUInt256('115792089237316195423570985008687907853269984665640564039457584007913129639935')][number % 2 + 1] AS u256`, 4],
  ['floats with NaN, ±Inf, −0, subnormals', `
    [toFloat32(nan), toFloat32(inf), toFloat32(-inf), toFloat32(-0.), toFloat32(1.5e-45), toFloat32(3.4028235e38), toFloat32(0.1)][number % 7 + 1] AS f32,
    [nan, inf, -inf, -0., 5e-324, 1.7976931348623157e308, 0.1][number % 7 + 1] AS f64,
    [toBFloat16(1.5), toBFloat16(-0.), toBFloat16(inf), toBFloat16(-2.75)][number % 4 + 1] AS bf16,
    number % 3 = 0 AS b`, 14],
  ['decimals of every width', `
    toDecimal32(-999999.999 + number, 3) AS d32, toDecimal64('-123456789012.345678', 6) AS d64,
    toDecimal128('-12345678901234567890123456789.123456789', 9) AS d128,
    toDecimal256('1234567890123456789012345678901234567890123456789012345678901234567.123456789', 9) AS d256,
    toDecimal32(0.05, 2) AS small, CAST(-0.5, 'Decimal(3, 1)') AS neg`, 3],
  ['strings: empty, unicode, long, binary', `
    ['', 'a', 'naïve ☃ 𝄞', repeat('x', 100000), 'tab\\tnl\\nq\\'', char(0, 1, 2)][number % 6 + 1] AS s,
    toFixedString(['', 'ab', 'abcd'][number % 3 + 1], 4) AS fs`, 12],
  ['dates, pre-1970, timezones, sub-second', `
    toDate('2149-06-06') - number AS d, toDate32('1900-01-01') + number * 40000 AS d32,
    toDateTime('2106-02-07 06:28:15', 'UTC') - number * 1000000 AS dt,
    toDateTime(1700000000 + number * 3600, 'America/New_York') AS dt_ny, toDateTime(1700000000, 'Asia/Kolkata') AS dt_ist,
    toDateTime64('1900-01-01 00:00:00.123456789', 9, 'UTC') + number AS dt64_9, toDateTime64(-1.5 + number, 3, 'Europe/Berlin') AS dt64_3,
    toDateTime64('2299-12-31 23:59:59.99', 2) AS dt64_2, toDateTime64(1234567890.123456, 6, 'Australia/Lord_Howe') AS dt64_6`, 3],
  ['UUID, IPv4, IPv6, Enum', `
    [toUUID('00000000-0000-0000-0000-000000000000'), toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0'), toUUID('ffffffff-ffff-ffff-ffff-ffffffffffff')][number % 3 + 1] AS u,
    [toIPv4('0.0.0.0'), toIPv4('255.255.255.255'), toIPv4('10.1.2.3')][number % 3 + 1] AS ip4,
    [toIPv6('::'), toIPv6('::1'), toIPv6('2001:db8::ff00:42:8329'), toIPv6('::ffff:1.2.3.4'), toIPv6('fe80::1:0:0:1'), toIPv6('1:2:3:4:5:6:7:8')][number % 6 + 1] AS ip6,
    CAST(['a', 'it\\'s', 'back\\\\slash'][number % 3 + 1], 'Enum8(\\'a\\' = -128, \\'it\\\\\\'s\\' = 0, \\'back\\\\\\\\slash\\' = 127)') AS e8,
    CAST(['x', 'y'][number % 2 + 1], 'Enum16(\\'x\\' = -32768, \\'y\\' = 32767)') AS e16`, 6],
  ['Nullable, Array, Tuple, Map, nested', `
    if(number % 2 = 0, NULL, number) AS n, if(number % 3 = 0, NULL, toString(number)) AS ns,
    range(number % 4) AS arr, [[toString(number)], [], ['a', 'b']] AS arr2, [if(number % 2 = 0, NULL, number)] AS arrn,
    (number, toString(number), [1.5]) AS tup, CAST((number, 'x'), 'Tuple(a UInt64, \`b c\` String)') AS named,
    map('k' || toString(number), number, 'z', 0) AS m, map(number, [toString(number)]) AS m2,
    CAST(map(), 'Map(String, UInt8)') AS m_empty, [map('a', (1, 'b'))] AS deep, [] AS empty_arr, NULL AS nothing`, 5],
  ['LowCardinality with thousands of keys', `
    toLowCardinality(toString(number % 5000)) AS lc, toLowCardinality(if(number % 7 = 0, NULL, toString(number % 300))) AS lcn,
    toLowCardinality(toFixedString(toString(number % 10), 2)) AS lcfs, toLowCardinality(number % 100) AS lcu, toLowCardinality(toDate(number % 1000)) AS lcd,
    [toLowCardinality(toString(number % 3))] AS alc, map(toLowCardinality(toString(number % 4)), number) AS mlc`, 20000],
  ['intervals, SimpleAggregateFunction, JSON as string', `
    toIntervalSecond(number) AS isec, toIntervalYear(-number) AS iyear, toIntervalNanosecond(9223372036854775807) AS ins,
    CAST(number, 'SimpleAggregateFunction(sum, UInt64)') AS saf`, 3],
];

for (const [label, select, rows = 5] of CASES) {
  test(`engine oracle: ${label}`, async () => {
    const sql = `SELECT ${select} FROM numbers(${rows})`;
    const bytes = await engineNative(sql, { max_block_size: 7000 });
    const blocks = decodeNative(bytes);
    const expected = await engineJSON(sql);
    assert.deepEqual(blocks[0]!.columns.map((c) => [c.name, c.type]), expected.meta.map((m) => [m.name, nativeTypeOf(m.type)]));
    assert.equal(blocks.reduce((n, b) => n + b.rowCount, 0), rows);
    assert.deepEqual(rowsAsEngineJson(blocks, expected.meta), expected.data);
    // Lossless: re-encoding decoded blocks reproduces the engine's bytes.
    assert.deepEqual(Buffer.from(encodeNative(blocks)), Buffer.from(bytes));
    // From plain JS values (default value mapping) back into the engine.
    const structure = expected.meta.map((m) => `\`${m.name}\` ${m.type}`).join(', ');
    const plain = blocks.map((b) => ({ columns: b.columns.map((c) => ({ name: c.name, type: c.type, values: Array.from(c.toArray()) })) }));
    const readBack = await engineReadNative(encodeNative(plain), structure);
    assert.deepEqual(readBack.data, expected.data);
  });
}

test('engine oracle: JSON with output_format_native_write_json_as_string', async () => {
  const sql = `SELECT '{"a": {"b": 1}, "big": 18446744073709551615, "arr": [{"x": "y"}]}'::JSON AS j FROM numbers(2)`;
  const bytes = await engineNative(sql, { output_format_native_write_json_as_string: 1 });
  const [b] = decodeNative(bytes);
  assert.equal(b!.columns[0]!.type, 'JSON');
  assert.deepEqual(b!.columns[0]!.get(0), { a: { b: 1 }, arr: [{ x: 'y' }], big: 18446744073709551615n });
  assert.deepEqual(Buffer.from(encodeNative([b!])), Buffer.from(bytes));
});

test('engine oracle: value options (Date objects, int64 as number/string, bytes)', async () => {
  const bytes = await engineNative(
    `SELECT toDateTime('2024-03-10 12:34:56', 'Asia/Tokyo') AS dt, toDate('2024-03-10') AS d, toDateTime64('2024-03-10 12:34:56.789', 3, 'UTC') AS ms, toDateTime64('1969-12-31 23:59:59.999999', 6, 'UTC') AS us, toUInt64(12345678901234567890) AS big, 'é' AS s`,
  );
  const [b] = decodeNative(bytes);
  const [dt, d, ms, us, big, s] = b!.columns as any[];
  assert.deepEqual(dt.get(0), new Date('2024-03-10T03:34:56Z'));
  // FORMAT Native from the engine drops the column's zone; the server's zone then applies.
  assert.equal(dt.type, 'DateTime');
  assert.equal(dt.withOptions({ dates: 'string', serverTimezone: 'Asia/Tokyo' }).get(0), '2024-03-10 12:34:56');
  assert.equal(dt.withOptions({ dates: 'string' }).get(0), '2024-03-10 03:34:56');
  assert.equal(dt.withOptions({ dates: 'bigint' }).get(0), 1710041696n);
  assert.equal(d.get(0), '2024-03-10');
  assert.deepEqual(d.withOptions({ dates: 'Date' }).get(0), new Date('2024-03-10T00:00:00Z'));
  // dates: 'bigint' gives a bigint for every date type: the day number here.
  assert.equal(d.withOptions({ dates: 'bigint' }).get(0), 19792n);
  assert.deepEqual(ms.get(0), new Date('2024-03-10T12:34:56.789Z'));
  assert.equal(us.get(0), '1969-12-31 23:59:59.999999');
  assert.deepEqual(us.withOptions({ dates: 'Date' }).get(0), new Date('1969-12-31T23:59:59.999Z'));
  assert.equal(big.get(0), 12345678901234567890n);
  assert.equal(big.withOptions({ int64: 'string' }).get(0), '12345678901234567890');
  // int64: 'number' never rounds: beyond 2^53 the value stays a bigint.
  assert.equal(big.withOptions({ int64: 'number' }).get(0), 12345678901234567890n);
  assert.deepEqual(Array.from(s.withOptions({ strings: 'bytes' }).get(0)), [0xc3, 0xa9]);
});

/** Value options whose forms differ; readers and get() must give what toArray() gives under each. */
const OPTION_SETS = [
  {},
  { dates: 'string', serverTimezone: 'Europe/Berlin' },
  { dates: 'Date' },
  { dates: 'bigint' },
  { int64: 'number' },
  { int64: 'string' },
  { strings: 'bytes' },
  { arrays: 'typed' },
  { maps: 'object' },
  { decimal: 'number' },
  { decimal: 'bigint' },
] as const;

/** More types for the reader test (their values are checked against the engine in types-*.test.ts). */
const READER_CASES: [string, string, number?][] = [
  ['Variant, Dynamic, JSON, Time, geo', `
    CAST(if(number % 2 = 0, toString(number), number), 'Variant(String, UInt64)') AS v, if(number % 3 = 0, NULL, number)::Dynamic AS dyn,
    CAST(concat('{"a": ', toString(number), ', "s": "x"}'), 'JSON') AS j, [CAST(number, 'Variant(UInt64, String)')] AS av,
    (number::Dynamic, toDateTime64(number, 6, 'UTC')) AS td, toTime(number * 61) AS tm, toTime64(number * 61.5, 3) AS tm64,
    (1.5, 2.5)::Point AS pt, [(0., 0.), (1., number)]::Ring AS ring, map('k', [toLowCardinality(toString(number))]) AS mlc`, 7],
  // Long enough ASCII String columns for the bulk-decoded path, plain and inside other types.
  ['ASCII strings in bulk', `
    toString(number) AS s, if(number % 2 = 0, NULL, concat('v', toString(number))) AS ns, [toString(number), 'x'] AS a,
    (toString(number), number) AS t, map(toString(number), toString(number * 2)) AS m, toFixedString(toString(number % 100), 2) AS fs`, 3000],
];

test('engine oracle: column readers and get() give exactly what toArray() gives, under every value option', async () => {
  for (const [label, select, rows = 5] of [...CASES, ...READER_CASES]) {
    const bytes = await engineNative(`SELECT ${select} FROM numbers(${rows})`, { max_block_size: 7000 });
    for (const b of decodeNative(bytes))
      for (const col of b.columns)
        for (const opts of OPTION_SETS) {
          const c = (col as unknown as { withOptions(o: object): typeof col }).withOptions(opts);
          const all = c.toArray();
          const read = c.reader();
          const where = `${label}: ${c.name} ${c.type} ${JSON.stringify(opts)}`;
          assert.equal(all.length, b.rowCount, where);
          for (let i = 0; i < b.rowCount; i++) {
            assert.deepEqual(read(i), all[i], `${where} row ${i} (reader)`);
            if (i < 50) assert.deepEqual(c.get(i), all[i], `${where} row ${i} (get)`);
          }
        }
  }
});

test("engine oracle: a tuple element or map key named '__proto__' is an own property, never the prototype", async () => {
  const bytes = await engineNative("SELECT CAST((1, map('x', 2)), 'Tuple(`__proto__` UInt8, b Map(String, UInt8))') AS t, map('__proto__', 5, 'y', 6) AS m");
  const [b] = decodeNative(bytes);
  const [t, m] = b!.columns as any[];
  for (const v of [t.get(0), t.toArray()[0], t.reader()(0)]) {
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.keys(v), ['__proto__', 'b']);
    assert.equal(Object.getOwnPropertyDescriptor(v, '__proto__')!.value, 1);
  }
  const mo = m.withOptions({ maps: 'object' });
  for (const v of [mo.get(0), mo.toArray()[0], mo.reader()(0)]) {
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.entries(v), [['__proto__', 5], ['y', 6]]);
  }
});

test('engine oracle: JSON values are the same in the object and the string serialization (numbers, bigint beyond 2^53)', async () => {
  const sql = `SELECT '{"a": 1, "big": 9007199254740993, "neg": -5, "f": 1.5, "s": "x", "arr": [1, 2]}'::JSON AS j`;
  const want = { a: 1, arr: [1, 2], big: 9007199254740993n, f: 1.5, neg: -5, s: 'x' };
  const [object] = decodeNative(await engineNative(sql));
  const [text] = decodeNative(await engineNative(sql, { output_format_native_write_json_as_string: 1 }));
  assert.deepEqual(object!.columns[0]!.get(0), want);
  assert.deepEqual(text!.columns[0]!.get(0), want);
  assert.deepEqual([0].map(object!.columns[0]!.reader()), [want]);
  // In Dynamic's shared variant (RowBinary) too.
  const [shared] = decodeNative(await engineNative(`SELECT j::Dynamic(max_types=0) AS d FROM (${sql})`));
  assert.deepEqual(shared!.columns[0]!.get(0), want);
});

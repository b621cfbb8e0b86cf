// Dynamic and JSON: engine bytes (V1, FLATTENED, STRING) decoded, re-encoded, streamed,
// fuzzed; V2 (protocol ≥ 54473) round trips; JS values encoded and read by the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineNative, hasEngine } from './helpers/engine.js';
import { blockRows, checkCase, checkStreaming, engineReadNativeRows, engineRows, assertClose, norm, type TypeCase } from './helpers/roundtrip.js';
import { decodeNative, encodeNative } from '../src/core/native/index.js';
import { codecForType } from '../src/core/columns/registry.js';
import { Writer } from '../src/core/io/writer.js';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');
const FLAT = { output_format_native_use_flattened_dynamic_and_json_serialization: 1 };

test('Dynamic golden bytes (V1) from serializations.md', () => {
  const codec = codecForType('Dynamic');
  const d = codec.fromValues([42, 'hi', null, true]);
  const w = new Writer();
  codec.writePrefix(w, d, { revision: 0 });
  codec.encode(w, d, { revision: 0 });
  assert.equal(
    hexOf(w.toBytes()),
    '0100000000000000' + '03' + '03' + '04426f6f6c' + '05496e743634' + '06537472696e67' + '0000000000000000' + '0103ff00' + '01' + '2a00000000000000' + '026869',
  );
  const one = codecForType('Dynamic(max_types=1)');
  const d1 = one.fromValues([42, 'hi', 'x', true]);
  assert.deepEqual(one.toArray(d1, {}), [42n, 'hi', 'x', true]);
  const w1 = new Writer();
  one.encode(w1, d1, { revision: 0 });
  // String kept (most frequent); Int64 and Bool go to SharedVariant as binary type + value.
  const body = hexOf(w1.toBytes());
  assert.ok(body.includes('090a2a00000000000000'));
  assert.ok(body.includes('022d01'));
});

const dynCases: (TypeCase & { name: string })[] = [
  {
    name: 'mixed types with NULL',
    sql: "SELECT d FROM (SELECT arrayJoin([42::Int64::Dynamic, 'hi', NULL, true, [1,2]::Array(Int64), 1.5::Float64]) d)",
    structure: 'd Dynamic',
    values: { d: [42, 'hi', null, true, [1, 2], 1.5] },
  },
  {
    name: 'all NULL',
    sql: 'SELECT NULL::Dynamic d FROM numbers(4)',
    structure: 'd Dynamic',
    values: { d: [null, null, null, null] },
  },
  {
    name: 'exceeding max_types (shared variant), numbers beyond 2^53',
    sql: "SELECT d::Dynamic(max_types=2) d FROM (SELECT arrayJoin([42::Int64::Dynamic, 'hi', NULL, true, 9007199254740993::UInt64, [1,2]::Array(Int64), '2024-01-02'::Date, (1, 'a')::Tuple(Int8, String), map('k', 1::UInt8)]) d)",
    structure: 'd Dynamic(max_types=2)',
    values: { d: [42, 'hi', null, true, { type: 'UInt64', value: 9007199254740993n }, [1, 2], { type: 'Date', value: '2024-01-02' }, { type: 'Tuple(Int8, String)', value: [1, 'a'] }, { type: 'Map(String, UInt8)', value: new Map([['k', 1]]) }] },
  },
  {
    name: 'max_types=0: everything in SharedVariant, odd types',
    sql: "SELECT d::Dynamic(max_types=0) d FROM (SELECT arrayJoin([1::UInt8::Dynamic, toDecimal64('1.25', 2), toIntervalDay(3), toDateTime64('2020-01-01 00:00:00.123', 3, 'UTC'), toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0'), toFixedString('ab', 2), CAST('a', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)'), toIPv6('::1'), [NULL, 1]::Array(Nullable(Int32)), (1, 'x')::Tuple(a UInt8, b String), toBFloat16(1.5), toInt256(-5), CAST(1, 'Variant(UInt8, String)'), toLowCardinality('lc'), toTime('12:00:00'), toTime64('-01:02:03.5', 2), [1, 2.5]::QBit(Float32, 2)]) d)",
    structure: 'd Dynamic(max_types=0)',
  },
  {
    name: 'Array(Dynamic) and Tuple with Dynamic',
    sql: "SELECT [1::Int64::Dynamic, 'a', NULL] a, tuple(1::UInt8, 'x'::Dynamic) t FROM numbers(3)",
    structure: 'a Array(Dynamic), t Tuple(UInt8, Dynamic)',
    values: { a: [[1, 'a', null], [1, 'a', null], [1, 'a', null]], t: [[1, 'x'], [1, 'x'], [1, 'x']] },
  },
];

for (const c of dynCases) {
  test(`Dynamic vs engine: ${c.name}`, async (t) => {
    if (!(await hasEngine())) return t.skip('chdb is not installed');
    await checkCase(c);
  });
}

test('Dynamic FLATTENED (engine setting) decodes to the same values; re-encoded as V1', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = "SELECT d::Dynamic(max_types=2) d FROM (SELECT arrayJoin([42::Int64::Dynamic, 'hi', NULL, true, 2.5::Float64, [1]::Array(Int64)]) d)";
  const bytes = await engineNative(sql, FLAT);
  const blocks = decodeNative(bytes);
  const expected = await engineRows(sql);
  assertClose(blockRows(blocks), expected);
  assertClose(await engineReadNativeRows(encodeNative(blocks), 'd Dynamic(max_types=2)'), expected);
  checkStreaming(bytes);
});

test('Dynamic and JSON V2 at protocol revision 54473 round-trip (and differ from V1 only in the prefix)', async () => {
  const values = [42, 'hi', null, true, [1, 2], { type: 'UInt8', value: 7 }];
  const input = { columns: [{ name: 'd', type: 'Dynamic(max_types=2)', values }, { name: 'j', type: 'JSON(max_dynamic_paths=1, a UInt32)', values: values.map((v, i) => ({ a: i, b: { c: v }, d: i })) }] };
  for (const revision of [54472, 54473, 54483]) {
    const bytes = encodeNative(input, { revision });
    const blocks = decodeNative(bytes, { revision });
    const rows = blockRows(blocks);
    assert.deepEqual(rows.map((r) => r[0]), norm([42n, 'hi', null, true, [1n, 2n], 7]));
    assert.deepEqual(rows[1]![1], { a: 1, b: { c: 'hi' }, d: 1 });
    assert.deepEqual(rows[2]![1], { a: 2, d: 2 });
    assert.equal(hexOf(encodeNative(blocks, { revision })), hexOf(bytes));
    checkStreaming(bytes, { revision }, 100);
  }
  // V2 = V1 without the skipped varuint; version numbers 1→2 (Dynamic) and 0→2 (JSON).
  const d = codecForType('Dynamic');
  const data = d.fromValues([1, 'a']);
  const w1 = new Writer();
  d.writePrefix(w1, data, { revision: 54472 });
  const w2 = new Writer();
  d.writePrefix(w2, data, { revision: 54473 });
  const v1 = w1.toBytes();
  const v2 = w2.toBytes();
  assert.equal(v1[0], 1);
  assert.equal(v2[0], 2);
  assert.equal(hexOf(v1.subarray(9)), hexOf(v2.subarray(8)));
});

const jsonCases: (TypeCase & { name: string })[] = [
  {
    name: 'typed path, dynamic paths, shared data (serializations.md example)',
    sql: "SELECT j::JSON(max_dynamic_paths=1, a UInt32) j FROM (SELECT arrayJoin(['{\"a\":1,\"b\":\"x\",\"c\":10}', '{\"a\":2,\"c\":20}', '{\"a\":3,\"b\":\"y\"}']) j)",
    structure: 'j JSON(max_dynamic_paths=1, a UInt32)',
    values: { j: [{ a: 1, b: 'x', c: 10 }, { a: 2, c: 20 }, { a: 3, b: 'y' }] },
  },
  {
    name: 'nested objects, arrays of objects, big numbers, deep nesting',
    sql: `SELECT j::JSON j FROM (SELECT arrayJoin(['{"a":{"b":{"c":{"d":{"e":1}}}},"n":18446744073709551615,"m":-9223372036854775808}', '{"arr":[{"x":1},{"y":"z"}],"f":1.25,"t":true}', '{}', '{"s":"é\\\\u0000","a":{"b":{"k":[1,2,3]}}}']) j)`,
    structure: 'j JSON',
    values: {
      j: [
        { a: { b: { c: { d: { e: 1 } } } }, n: 18446744073709551615n, m: -9223372036854775808n },
        { arr: [{ x: 1 }, { y: 'z' }], f: 1.25, t: true },
        {},
        { s: 'é\u0000', a: { b: { k: [1, 2, 3] } } },
      ],
    },
  },
  {
    name: 'typed and skipped paths',
    sql: `SELECT j::JSON(a.b UInt64, c Nullable(String), SKIP x, SKIP REGEXP '^y') j FROM (SELECT arrayJoin(['{"a":{"b":5,"z":1},"x":{"q":1},"y1":2,"w":3}', '{"c":"s"}']) j)`,
    structure: "j JSON(a.b UInt64, c Nullable(String), SKIP x, SKIP REGEXP '^y')",
    values: { j: [{ a: { b: 5, z: 1 }, x: { q: 1 }, y1: 2, w: 3 }, { c: 's' }] },
  },
  {
    name: 'many distinct paths beyond max_dynamic_paths',
    sql: `SELECT j::JSON(max_dynamic_paths=3) j FROM (SELECT ('{' || arrayStringConcat(arrayMap(i -> '"p' || toString((number * 7 + i) % 40) || '":' || toString(i), range(number % 6)), ',') || '}') j FROM numbers(30))`,
    structure: 'j JSON(max_dynamic_paths=3)',
  },
];

for (const c of jsonCases) {
  test(`JSON vs engine: ${c.name}`, async (t) => {
    if (!(await hasEngine())) return t.skip('chdb is not installed');
    await checkCase(c);
  });
}

test('JSON STRING and FLATTENED serializations decode', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = `SELECT j::JSON(max_dynamic_paths=2, a UInt32) j FROM (SELECT arrayJoin(['{"a":1,"b":{"c":[1,2]},"d":"x"}', '{"e":null,"f":1.5,"g":{"h":true}}', '{}']) j)`;
  const expected = await engineRows(sql);
  for (const settings of [{ output_format_native_write_json_as_string: 1 }, FLAT]) {
    const bytes = await engineNative(sql, settings);
    const blocks = decodeNative(bytes);
    assertClose(blockRows(blocks), expected);
    assertClose(await engineReadNativeRows(encodeNative(blocks), 'j JSON(max_dynamic_paths=2, a UInt32)'), expected);
    checkStreaming(bytes, {}, 100);
  }
});

test("Object('json') is reported as unsupported", () => {
  assert.throws(() => codecForType("Object('json')"), (e: Error & { code?: string }) => e.code === 'CHWIRE_UNSUPPORTED_TYPE' && /Object/.test(e.message));
});

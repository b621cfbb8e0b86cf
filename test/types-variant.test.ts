// Variant(T1, ..., Tn): engine bytes decoded, re-encoded, streamed, fuzzed; JS values encoded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasEngine } from './helpers/engine.js';
import { checkCase, engineReadNativeRows, type TypeCase } from './helpers/roundtrip.js';
import { decodeNative, encodeNative } from '../src/core/native/index.js';
import { codecForType } from '../src/core/columns/registry.js';
import { TypedValue } from '../src/core/columns/row-binary.js';
import { Writer } from '../src/core/io/writer.js';
import { Cursor } from '../src/core/io/cursor.js';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('Variant golden bytes from serializations.md', () => {
  const codec = codecForType('Variant(UInt32, String, Array(UInt8))');
  assert.equal(codec.typeName, 'Variant(Array(UInt8), String, UInt32)');
  const d = codec.fromValues([42, 'hi', null, [1, 2], 7]);
  const w = new Writer();
  codec.writePrefix(w, d, { revision: 0 });
  codec.encode(w, d, { revision: 0 });
  assert.equal(hexOf(w.toBytes()), '0000000000000000' + '0201ff0002' + '02000000000000000102' + '026869' + '2a00000007000000');
});

test('Variant COMPACT discriminators decode (granules of per-row and single discriminators)', () => {
  const codec = codecForType('Variant(String, UInt32)');
  // mode 1; granule 3 rows fmt 0: [1, 255, 0]; granule 2 rows fmt 1: all 1; then String rows, UInt32 rows.
  const bytes = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 255, 0, 2, 1, 1, 1, 0x61, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0]);
  const c = new Cursor(bytes);
  const ctx = { revision: 0, base: 0 };
  const d = codec.decode(c, 5, codec.readPrefix(c, ctx), ctx);
  assert.equal(c.pos, bytes.length);
  assert.deepEqual(codec.toArray(d, {}), [5, null, 'a', 6, 7]);
});

test('Variant explicit alternative and errors', () => {
  const codec = codecForType('Variant(UInt32, Int64, String)');
  const d = codec.fromValues([{ type: 'UInt32', value: 5 }, new TypedValue('Int64', 5), 5, 'x', null]);
  const w = new Writer();
  codec.encode(w, d, { revision: 0 });
  assert.deepEqual(Array.from(w.toBytes().subarray(0, 5)), [2, 0, 0, 1, 255]);
  assert.throws(() => codec.fromValues([{ a: 1 }]), /fits none of the alternatives/);
});

const cases: (TypeCase & { name: string })[] = [
  {
    name: 'mixed alternatives with NULL and empty array',
    sql: "SELECT v FROM (SELECT arrayJoin([42::UInt32::Variant(UInt32, String, Array(UInt8)), 'hi', NULL, [1,2], []::Array(UInt8), 7::UInt32]) v)",
    structure: 'v Variant(UInt32, String, Array(UInt8))',
    values: { v: [42, 'hi', null, [1, 2], [], 7] },
  },
  {
    name: 'all NULL',
    sql: 'SELECT CAST(NULL, \'Variant(String, UInt64)\') v FROM numbers(5)',
    structure: 'v Variant(String, UInt64)',
    values: { v: [null, null, null, null, null] },
  },
  {
    name: 'one alternative never used, big integers',
    sql: "SELECT v FROM (SELECT arrayJoin([18446744073709551615::UInt64::Variant(UInt64, Float64, Tuple(a Int8, b String)), 1.5::Float64, NULL, (1, 'x')::Tuple(a Int8, b String)]) v)",
    structure: 'v Variant(UInt64, Float64, Tuple(a Int8, b String))',
    values: { v: [18446744073709551615n, 1.5, null, { a: 1, b: 'x' }] },
  },
  {
    name: 'Nullable-free nested: Array(Variant(...)) and Map values',
    sql: "SELECT [1::UInt8::Variant(UInt8, String), 'a', NULL] a, map('k', 'v'::Variant(UInt8, String)) m FROM numbers(3)",
    structure: 'a Array(Variant(UInt8, String)), m Map(String, Variant(UInt8, String))',
    values: { a: [[1, 'a', null], [1, 'a', null], [1, 'a', null]], m: [{ k: 'v' }, { k: 'v' }, { k: 'v' }] },
  },
  {
    name: 'Geometry (a Variant of geo types)',
    sql: "SELECT g FROM (SELECT arrayJoin([(1.0, 2.0)::Point::Geometry, [[(0.0,0.0),(1.0,0.0),(1.0,1.0)]]::Polygon::Geometry, NULL]) g)",
    structure: 'g Geometry',
    values: { g: [{ type: 'Point', value: [1, 2] }, { type: 'Polygon', value: [[[0, 0], [1, 0], [1, 1]]] }, null] },
  },
];

for (const c of cases) {
  test(`Variant vs engine: ${c.name}`, async (t) => {
    if (!(await hasEngine())) return t.skip('chdb is not installed');
    await checkCase(c);
  });
}

test('Variant: many rows, every alternative, read back by the engine', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const values: unknown[] = [];
  for (let i = 0; i < 1000; i++) values.push(i % 4 === 0 ? null : i % 4 === 1 ? i : i % 4 === 2 ? `s${i}` : [i % 256]);
  const bytes = encodeNative({ columns: [{ name: 'v', type: 'Variant(UInt32, String, Array(UInt8))', values }] });
  const back = await engineReadNativeRows(bytes, 'v Variant(UInt32, String, Array(UInt8))');
  assert.deepEqual(back.map((r) => r[0]), values);
  assert.deepEqual(decodeNative(bytes)[0]!.columns[0]!.toArray(), values);
});

// Custom serializations on the protocol (≥ 54454): sparse (incl. nullable sparse ≥ 54483),
// replicated (≥ 54482) and tuple kind stacks, built from the server source's layout,
// decoded into ordinary columns; the engine reads chwire's re-encoding.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineNative, engineQuery, hasEngine } from './helpers/engine.js';
import { blockRows, checkStreaming, engineReadNativeRows, engineRows, assertClose } from './helpers/roundtrip.js';
import { decodeNative, encodeNative } from '../src/core/native/index.js';
import { Writer } from '../src/core/io/writer.js';

const REV = 54483;
const EOG = 1n << 62n;

function header(w: Writer, name: string, type: string, kinds: number[]): void {
  w.string(name);
  w.string(type);
  if (kinds.length === 0) w.u8(0);
  else {
    w.u8(1);
    for (const k of kinds) w.u8(k);
  }
}

/** Sparse offsets for `rows` rows whose non-default rows are `at`. */
function sparseOffsets(w: Writer, at: number[], rows: number): void {
  let prev = 0;
  for (const p of at) {
    w.varuint(p - prev);
    prev = p + 1;
  }
  w.varuint64(BigInt(rows - prev) | EOG);
}

function buildBlock(): Uint8Array {
  const w = new Writer();
  // BlockInfo: is_overflows 0, bucket_num -1, end.
  w.varuint(1);
  w.u8(0);
  w.varuint(2);
  w.i32(-1);
  w.varuint(0);
  w.varuint(7); // columns
  w.varuint(5); // rows
  // u UInt32 sparse: [0, 0, 7, 0, 0] (the serializations.md example).
  header(w, 'u', 'UInt32', [1]);
  sparseOffsets(w, [2], 5);
  w.u32(7);
  // s String sparse: ['', 'a', '', '', 'b'].
  header(w, 's', 'String', [1]);
  sparseOffsets(w, [1, 4], 5);
  w.string('a');
  w.string('b');
  // n Nullable(UInt8) sparse (one code, as ClickHouse 26.7 reads it): [NULL, 3, NULL, NULL, 0]; no null map.
  header(w, 'n', 'Nullable(UInt8)', [1]);
  sparseOffsets(w, [1, 4], 5);
  w.u8(3);
  w.u8(0);
  // t Tuple(a UInt8, b String): tuple DEFAULT, a SPARSE, b DEFAULT.
  header(w, 't', 'Tuple(a UInt8, b String)', [0, 1, 0]);
  sparseOffsets(w, [0], 5);
  w.u8(9);
  for (const s of ['p', 'q', 'r', 's', 't']) w.string(s);
  // r String replicated: indexes [0, 1, 0, 1, 1] into ['x', 'y'].
  header(w, 'r', 'String', [4]);
  w.varuint(5);
  w.u8(1);
  for (const i of [0, 1, 0, 1, 1]) w.u8(i);
  w.varuint(2);
  w.string('x');
  w.string('y');
  // a Array(UInt8) replicated (generic gather): indexes [1, 0, 1, 1, 0] (width 2) into [[1, 2], []].
  header(w, 'a', 'Array(UInt8)', [4]);
  w.varuint(5);
  w.u8(2);
  for (const i of [1, 0, 1, 1, 0]) w.u16(i);
  w.varuint(2);
  w.u64(2);
  w.u64(2);
  w.u8(1);
  w.u8(2);
  // c Int64 as a COMBINATION stack [DEFAULT, SPARSE, REPLICATED]: replicated over sparse.
  header(w, 'c', 'Int64', [5, 3, 0, 1, 3]);
  w.varuint(5);
  w.u8(1);
  for (const i of [0, 1, 2, 1, 0]) w.u8(i);
  w.varuint(3); // nested rows: [0, -5, 0] sparse
  sparseOffsets(w, [1], 3);
  w.i64(-5);
  return w.toBytes();
}

const EXPECTED = [
  [0, '', null, { a: 9, b: 'p' }, 'x', [], 0],
  [0, 'a', 3, { a: 0, b: 'q' }, 'y', [1, 2], -5],
  [7, '', null, { a: 0, b: 'r' }, 'x', [], 0],
  [0, '', null, { a: 0, b: 's' }, 'y', [], -5],
  [0, 'b', 0, { a: 0, b: 't' }, 'y', [1, 2], 0],
];
const STRUCTURE = 'u UInt32, s String, n Nullable(UInt8), t Tuple(a UInt8, b String), r String, a Array(UInt8), c Int64';

test('sparse, nullable sparse, tuple kinds, replicated and combined stacks decode into ordinary columns', async (t) => {
  const bytes = buildBlock();
  const blocks = decodeNative(bytes, { revision: REV });
  assert.deepEqual(blockRows(blocks), EXPECTED);
  // Re-encoding writes the default serialization (has_custom = 0) and decodes the same.
  const again = encodeNative(blocks, { revision: REV });
  assert.deepEqual(blockRows(decodeNative(again, { revision: REV })), EXPECTED);
  checkStreaming(bytes, { revision: REV }, 300);
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  assertClose(await engineReadNativeRows(encodeNative(blocks), STRUCTURE), EXPECTED);
});

test('sparse offsets that do not cover the rows, and bad kind codes, are DecodeErrors', () => {
  const bad = (mut: (w: Writer) => void) => {
    const w = new Writer();
    w.varuint(0);
    w.varuint(1);
    w.varuint(3);
    mut(w);
    return w.toBytes();
  };
  const short = bad((w) => {
    header(w, 'u', 'UInt32', [1]);
    sparseOffsets(w, [0], 2);
    w.u32(1);
  });
  assert.throws(() => decodeNative(short, { revision: REV }), (e: Error & { code?: string }) => e.code === 'CHWIRE_MALFORMED_DATA');
  const code = bad((w) => header(w, 'u', 'UInt32', [9]));
  assert.throws(() => decodeNative(code, { revision: REV }), (e: Error & { code?: string }) => e.code === 'CHWIRE_MALFORMED_DATA');
});

test('a sparse column declaring more rows than chwire expands is a LimitError, before any allocation', () => {
  // 36 bytes: one block of 5e8 rows, column a UInt64 sparse, all default (one group covering every row).
  const w = new Writer();
  w.varuint(0);
  w.varuint(1);
  w.varuint(5e8);
  header(w, 'a', 'UInt64', [1]);
  w.varuint(Number((5n * 10n ** 8n) | (1n << 62n)));
  const before = process.memoryUsage().arrayBuffers;
  assert.throws(() => decodeNative(w.toBytes(), { revision: REV }), (e: Error & { code?: string }) => e.code === 'CHWIRE_LIMIT_EXCEEDED' && /sparse/.test(e.message));
  assert.ok(process.memoryUsage().arrayBuffers - before < 64 * 1024 * 1024);
});

test('a MergeTree part with sparse columns reads back with the same values', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  await engineQuery('DROP TABLE IF EXISTS chwire_sparse_t');
  await engineQuery(
    "CREATE TABLE chwire_sparse_t (k UInt32, u UInt64, s String, n Nullable(Int32), t Tuple(a UInt8, b String)) ENGINE = MergeTree ORDER BY k SETTINGS ratio_of_defaults_for_sparse_serialization = 0.5, min_bytes_for_wide_part = 0",
  );
  try {
    await engineQuery("INSERT INTO chwire_sparse_t SELECT number, if(number % 97 = 0, number, 0), if(number % 89 = 0, toString(number), ''), if(number % 83 = 0, number, NULL), (if(number % 79 = 0, 1, 0), '') FROM numbers(2000)");
    const kinds = await engineQuery("SELECT column, serialization_kind FROM system.parts_columns WHERE table = 'chwire_sparse_t' AND active ORDER BY column");
    assert.match(kinds, /u\tSparse/);
    const sql = 'SELECT * FROM chwire_sparse_t ORDER BY k';
    const bytes = await engineNative(sql);
    const blocks = decodeNative(bytes);
    assertClose(blockRows(blocks), await engineRows(sql));
  } finally {
    await engineQuery('DROP TABLE IF EXISTS chwire_sparse_t');
  }
});

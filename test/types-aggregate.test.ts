// AggregateFunction states: engine states decoded as opaque bytes, re-encoded, read back
// by the engine and finalised there to the same results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { engineNative, hasEngine, sqlString, withTempFile } from './helpers/engine.js';
import { blockRows, checkStreaming, engineRows, assertClose } from './helpers/roundtrip.js';
import { decodeNative, encodeNative } from '../src/core/native/index.js';
import { codecForType } from '../src/core/columns/registry.js';

const COLUMNS: [string, string, string][] = [
  // name, state expression, final expression
  ['u', 'uniqState(number)', 'uniq(number)'],
  ['s', 'sumState(number)', 'sum(number)'],
  ['c', 'countState()', 'count()'],
  ['a', 'avgState(toUInt32(number))', 'avg(toUInt32(number))'],
  ['g', 'groupArrayState(toString(number))', 'groupArray(toString(number))'],
  ['gn', 'groupArrayState(toUInt16(number))', 'groupArray(toUInt16(number))'],
  ['q', 'quantileState(toFloat64(number))', 'quantile(toFloat64(number))'],
  ['qs', 'quantilesState(0.1, 0.9)(toUInt32(number))', 'quantiles(0.1, 0.9)(toUInt32(number))'],
  ['mn', 'minState(toString(number))', 'min(toString(number))'],
  ['mx', 'maxState(toDecimal64(number, 2))', 'max(toDecimal64(number, 2))'],
  ['am', 'argMaxState(toString(number), number)', 'argMax(toString(number), number)'],
  ['ue', 'uniqExactState(toString(number))', 'uniqExact(toString(number))'],
  ['an', 'anyState(if(number % 5 = 0, NULL, number))', 'any(if(number % 5 = 0, NULL, number))'],
  ['si', 'sumIfState(number, number % 2 = 0)', 'sumIf(number, number % 2 = 0)'],
  // Nullable arguments: a has-value byte precedes the state only where the result can be Nullable.
  ['un', 'uniqState(if(number % 5 = 0, NULL, number))', 'uniq(if(number % 5 = 0, NULL, number))'],
  ['sn', 'sumState(if(number % 5 = 0, NULL, number))', 'sum(if(number % 5 = 0, NULL, number))'],
  ['gan', 'groupArrayState(if(number % 5 = 0, NULL, number))', 'groupArray(if(number % 5 = 0, NULL, number))'],
  ['qsn', 'quantilesState(0.1, 0.9)(if(number % 5 = 0, NULL, toUInt32(number)))', 'quantiles(0.1, 0.9)(if(number % 5 = 0, NULL, toUInt32(number)))'],
  ['gai', 'groupArrayIfState(if(number % 5 = 0, NULL, number), number % 2 = 0)', 'groupArrayIf(if(number % 5 = 0, NULL, number), number % 2 = 0)'],
];

test('aggregate states: decode, byte-identical re-encode, streaming, fuzz, finalise in the engine', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = `SELECT number % 4 AS k, ${COLUMNS.map(([n, s]) => `${s} AS ${n}`).join(', ')} FROM numbers(300) GROUP BY k ORDER BY k`;
  const bytes = await engineNative(sql);
  const blocks = decodeNative(bytes);
  const rows = blockRows(blocks);
  assert.equal(rows.length, 4);
  const cols = blocks[0]!.columns;
  for (let j = 1; j < cols.length; j++) assert.ok(cols[j]!.get(0) instanceof Uint8Array, cols[j]!.name);
  const again = encodeNative(blocks);
  assert.equal(Buffer.from(again).toString('hex'), Buffer.from(bytes).toString('hex'));
  checkStreaming(bytes, {}, 200);
  // Copy the states through chwire (plain Uint8Array values) into a file and finalise there.
  const structure = ['k UInt8', ...cols.slice(1).map((c) => `${c.name} ${c.type}`)].join(', ');
  const copied = encodeNative({
    columns: cols.map((c) => ({ name: c.name, type: c.type, values: Array.from(c.toArray()) })),
  });
  const finalSql = (path: string) =>
    `SELECT k, ${COLUMNS.map(([n]) => `finalizeAggregation(${n})`).join(', ')} FROM file(${sqlString(path)}, 'Native', ${sqlString(structure)}) ORDER BY k`;
  const direct = await engineRows(`SELECT number % 4 AS k, ${COLUMNS.map(([, , f]) => f).join(', ')} FROM numbers(300) GROUP BY k ORDER BY k`);
  const viaChwire = await withTempFile(copied, (path) => engineRows(finalSql(path)));
  assertClose(viaChwire, direct);
  // -Merge across the copied states equals the aggregate over everything.
  const merged = await withTempFile(copied, (path) =>
    engineRows(`SELECT uniqMerge(u), sumMerge(s), countMerge(c), length(groupArrayMerge(g)), quantileMerge(q) FROM file(${sqlString(path)}, 'Native', ${sqlString(structure)})`),
  );
  assertClose(merged, await engineRows('SELECT uniq(number), sum(number), count(), length(groupArray(toString(number))), quantile(toFloat64(number)) FROM numbers(300)'));
});

test('unknown aggregate functions are UnsupportedTypeErrors naming the function; bad states are rejected', () => {
  // Only the condition Nullable: the flag byte depends on the server version, so rows cannot be split safely.
  assert.throws(
    () => codecForType('AggregateFunction(sumIf, UInt64, Nullable(UInt8))'),
    (e: Error & { code?: string }) => e.code === 'CHWIRE_UNSUPPORTED_TYPE' && /Nullable condition/.test(e.message),
  );
  assert.throws(
    () => codecForType('AggregateFunction(topK(10), String)'),
    (e: Error & { code?: string }) => e.code === 'CHWIRE_UNSUPPORTED_TYPE' && /topK/.test(e.message),
  );
  const codec = codecForType('AggregateFunction(sum, UInt64)');
  assert.throws(() => codec.fromValues([new Uint8Array(7)]), /truncated/);
  assert.throws(() => codec.fromValues([new Uint8Array(9)]), /bytes after/);
  const d = codec.fromValues([new Uint8Array(8)]);
  assert.equal(codec.length(d), 1);
});

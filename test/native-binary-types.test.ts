// Type names in ClickHouse's binary encoding (output_format_native_encode_types_in_binary_format=1)
// decode to the same columns as text names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNative } from '../src/index.js';
import { engineNative } from './helpers/engine.js';

test('blocks with binary-encoded type names decode like text ones', async () => {
  const sql = `SELECT number AS n, toString(number) AS s, [toNullable(number)] AS a, map('k', toDecimal64(number, 2)) AS m,
    toLowCardinality(toString(number)) AS lc, toDateTime64(number, 3, 'UTC') AS dt, (number, 'x')::Tuple(a UInt64, b String) AS t,
    CAST(number % 2, 'Enum8(\\'x\\' = 0, \\'y\\' = 1)') AS e FROM numbers(5)`;
  const text = decodeNative(await engineNative(sql));
  const binBytes = await engineNative(sql, { output_format_native_encode_types_in_binary_format: 1 });
  const bin = decodeNative(binBytes);
  assert.deepEqual(bin[0]!.columns.map((c) => c.type), text[0]!.columns.map((c) => c.type));
  const norm = (bs: typeof text) => JSON.stringify(bs.map((b) => b.columns.map((c) => Array.from(c.toArray()))), (_k, v) => (typeof v === 'bigint' ? String(v) : v instanceof Map ? [...v] : v));
  assert.equal(norm(bin), norm(text));
});

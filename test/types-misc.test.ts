// Time/Time64, geo, QBit, Nested, Interval*, SimpleAggregateFunction against the engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasEngine } from './helpers/engine.js';
import { checkCase, type TypeCase } from './helpers/roundtrip.js';
import { codecForType } from '../src/core/columns/registry.js';
import { Writer } from '../src/core/io/writer.js';

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

test('QBit golden bytes from serializations.md', () => {
  const codec = codecForType('QBit(Float32, 3)');
  const d = codec.fromValues([[1.0, -2.0, 0.5]]);
  const w = new Writer();
  codec.encode(w, d, { revision: 0 });
  assert.equal(hexOf(w.toBytes()), '020205050505050501' + '00'.repeat(23));
  assert.deepEqual(Array.from(codec.get(d, 0, {}) as Float32Array), [1, -2, 0.5]);
});

const cases: (TypeCase & { name: string })[] = [
  {
    name: 'Time and Time64 (negative, > 99 hours, fractions)',
    sql: "SELECT CAST(x, 'Time') t, CAST(y, 'Time64(3)') t3, CAST(y, 'Time64(9)') t9 FROM (SELECT arrayJoin([0, -1, 3599999, -3599999, 86399]) x, arrayJoin([0, -1.5, 12.25]) y)",
    structure: 't Time, t3 Time64(3), t9 Time64(9)',
  },
  {
    name: 'Time from JS values',
    sql: "SELECT CAST(x, 'Time') t FROM (SELECT arrayJoin([0, -1, 3599999, 45296]) x)",
    structure: 't Time',
    values: { t: ['00:00:00', '-00:00:01', '999:59:59', 45296] },
  },
  {
    name: 'geo types',
    sql: "SELECT (1.5, -2.0)::Point p, [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]::Ring r, [(0.0, 0.0), (2.0, 2.0)]::LineString l, [[(0.0, 0.0), (2.0, 2.0)], []]::MultiLineString ml, [[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)], [(0.1, 0.1)]]::Polygon pg, [[[(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]], []]::MultiPolygon mp FROM numbers(2)",
    structure: 'p Point, r Ring, l LineString, ml MultiLineString, pg Polygon, mp MultiPolygon',
    values: {
      p: [[1.5, -2], [1.5, -2]],
      r: [[[0, 0], [1, 0], [0, 1]], [[0, 0], [1, 0], [0, 1]]],
      l: [[[0, 0], [2, 2]], [[0, 0], [2, 2]]],
      ml: [[[[0, 0], [2, 2]], []], [[[0, 0], [2, 2]], []]],
      pg: [[[[0, 0], [1, 0], [0, 1]], [[0.1, 0.1]]], [[[0, 0], [1, 0], [0, 1]], [[0.1, 0.1]]]],
      mp: [[[[[0, 0], [1, 0], [0, 1]]], []], [[[[0, 0], [1, 0], [0, 1]]], []]],
    },
  },
  {
    name: 'QBit of every element type',
    sql: "SELECT [1.5, -2, 0, 3.25, 1e-3, -7, 8, 9, 10]::QBit(Float32, 9) f, [1.5, -2, 0.1]::QBit(Float64, 3) d, [1, -2.5, 0, 4]::QBit(BFloat16, 4) b FROM numbers(3)",
    structure: 'f QBit(Float32, 9), d QBit(Float64, 3), b QBit(BFloat16, 4)',
    values: {
      f: Array(3).fill([1.5, -2, 0, 3.25, 1e-3, -7, 8, 9, 10]),
      d: Array(3).fill(Float64Array.from([1.5, -2, 0.1])),
      b: Array(3).fill([1, -2.5, 0, 4]),
    },
  },
  {
    name: 'Nested as one column (flatten_nested = 0) and flattened Nested columns',
    sql: "SELECT CAST([(1, 'a'), (2, 'b')], 'Nested(x UInt8, y String)') n, [1, 2]::Array(UInt8) `m.x`, ['a', 'b'] `m.y` FROM numbers(2)",
    structure: 'n Nested(x UInt8, y String), `m.x` Array(UInt8), `m.y` Array(String)',
    values: { n: [[{ x: 1, y: 'a' }, { x: 2, y: 'b' }], [{ x: 1, y: 'a' }, { x: 2, y: 'b' }]], 'm.x': [[1, 2], [1, 2]], 'm.y': [['a', 'b'], ['a', 'b']] },
    settings: { flatten_nested: 0 },
  },
  {
    name: 'Interval of every unit',
    sql: "SELECT toIntervalNanosecond(1) a, toIntervalMicrosecond(-2) b, toIntervalMillisecond(3) c, toIntervalSecond(4) d, toIntervalMinute(5) e, toIntervalHour(6) f, toIntervalDay(7) g, toIntervalWeek(8) h, toIntervalMonth(9) i, toIntervalQuarter(10) j, toIntervalYear(9223372036854775807) k",
    structure: 'a IntervalNanosecond, b IntervalMicrosecond, c IntervalMillisecond, d IntervalSecond, e IntervalMinute, f IntervalHour, g IntervalDay, h IntervalWeek, i IntervalMonth, j IntervalQuarter, k IntervalYear',
  },
  {
    name: 'SimpleAggregateFunction',
    sql: "SELECT CAST(5, 'SimpleAggregateFunction(sum, UInt64)') s, CAST(NULL, 'SimpleAggregateFunction(anyLast, Nullable(String))') a FROM numbers(2)",
    structure: 's SimpleAggregateFunction(sum, UInt64), a SimpleAggregateFunction(anyLast, Nullable(String))',
    values: { s: [5, 5], a: [null, null] },
  },
];

for (const c of cases) {
  test(`vs engine: ${c.name}`, async (t) => {
    if (!(await hasEngine())) return t.skip('chdb is not installed');
    await checkCase(c);
  });
}

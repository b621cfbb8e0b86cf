// Codec edges: DateTime64's insert range in the column's zone (every input form), DateTime64
// beyond a JS Date on read, Enum from bigint, named Tuple keys, composite Map keys with
// maps: 'object'. The engine (chDB, ClickHouse 26.7) is the oracle where it can be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNative, encodeNative, ChwireError, DecodeError, EncodeError } from '../src/index.js';
import { engineJSON, engineNative, engineReadNative, hasEngine } from './helpers/engine.js';

type Col = { get(i: number): unknown; toArray(): ArrayLike<unknown>; reader(): (i: number) => unknown; withOptions(o: object): Col };

function encodeError(type: string, value: unknown, reason: RegExp, opts?: { serverTimezone?: string }): void {
  assert.throws(
    () => encodeNative({ columns: [{ name: 'c', type, values: [value] }] }, opts),
    (e: unknown) => {
      assert.ok(e instanceof EncodeError, String(e));
      assert.equal(e.code, 'CHWIRE_BAD_VALUE');
      assert.match(e.message, reason);
      return true;
    },
    `${type} ${typeof value === 'bigint' ? `${value}n` : String(value)}`,
  );
}

/** Each way of reading a column's rows must throw the same error. */
function readsThrow(col: Col, rows: number[], check: (e: unknown) => boolean): void {
  for (const r of rows) {
    assert.throws(() => col.get(r), check);
    assert.throws(() => col.reader()(r), check);
  }
  assert.throws(() => col.toArray(), check);
}

// ---------------------------------------------------------------- DateTime64 insert range

const ZONES = ['UTC', 'Asia/Tokyo', 'America/New_York', 'Asia/Kolkata'];

/** Wall-time ends of the range for precision p: 0000-01-01 00:00:00 .. 9999-12-31 23:59:59.(9). */
function ends(p: number): [string, string] {
  return ['0000-01-01 00:00:00' + (p ? '.' + '0'.repeat(p) : ''), '9999-12-31 23:59:59' + (p ? '.' + '9'.repeat(p) : '')];
}

test('DateTime64 inserts: wall times in the column zone from 0000-01-01 to 9999-12-31 are stored and printed back as written', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  for (const p of [0, 3, 6]) {
    for (const z of ZONES) {
      const type = `DateTime64(${p}, '${z}')`;
      const frac = (s: string) => (p ? s + '.' + '9'.repeat(p) : s);
      const strings = [...ends(p), '1900-01-01 00:00:00', frac('1899-12-31 23:59:59'), frac('2299-12-31 23:59:59'), '2300-01-01 00:00:00', '1800-06-15 12:00:00', '0001-01-01 00:00:00'];
      const bytes = encodeNative({ columns: [{ name: 'x', type, values: strings }] });
      const back = await engineReadNative<{ s: string; t: string }>(bytes, `x ${type}`, "toString(x) AS s, toString(reinterpret(x, 'Int64')) AS t");
      const want = strings.map((s) => (s.length === 19 && p ? s + '.' + '0'.repeat(p) : s));
      assert.deepEqual(back.data.map((r) => r.s), want, type);
      // The same ticks as sent as bigint ticks, as Dates / epoch seconds (p = 3), all accepted at both ends.
      const ticks = back.data.map((r) => BigInt(r.t));
      const again = decodeNative(encodeNative({ columns: [{ name: 'x', type, values: ticks }] }), { dates: 'string' })[0]!.columns[0]!;
      assert.deepEqual(Array.from(again.toArray()), want, `${type} bigint`);
      if (p === 3) {
        const dates = ticks.map((x) => new Date(Number(x)));
        const secs = ticks.map((x) => Number(x) / 1000);
        for (const values of [dates, secs]) {
          const c = decodeNative(encodeNative({ columns: [{ name: 'x', type, values }] }), { dates: 'bigint' })[0]!.columns[0]!;
          assert.deepEqual(Array.from(c.toArray()), ticks, `${type} ${typeof values[0]}`);
        }
      }
    }
  }
});

test('DateTime64 text is read as the engine reads it, in the column zone (Tokyo 1900, New York 2299)', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const cases: [string, string][] = [
    ["DateTime64(3, 'Asia/Tokyo')", '1900-01-01 00:00:00'],
    ["DateTime64(3, 'Asia/Tokyo')", '1800-01-01 00:00:00.001'],
    ["DateTime64(3, 'America/New_York')", '2299-12-31 23:59:59.999'],
    ["DateTime64(3, 'America/New_York')", '9999-12-31 23:59:59.999'],
    ["DateTime64(9, 'Asia/Kolkata')", '1677-09-21 06:10:00'],
  ];
  for (const [type, s] of cases) {
    const engine = await engineJSON<{ t: string }>(`SELECT toString(reinterpret(x, 'Int64')) AS t FROM format(Values, 'x ${type.replace(/'/g, "\\'")}', $$('${s}')$$)`);
    const ours = decodeNative(encodeNative({ columns: [{ name: 'x', type, values: [s] }] }), { dates: 'bigint' })[0]!.columns[0]!.get(0);
    assert.equal(ours, BigInt(engine.data[0]!.t), `${type} ${s}`);
  }
});

test('DateTime64 inserts one tick beyond the range are EncodeErrors in every form (string, Date, number, bigint)', () => {
  // Tokyo: 0000-01-01 00:00:00 LMT (+9:18:59) .. 9999-12-31 23:59:59.999 JST.
  const tokyo = "DateTime64(3, 'Asia/Tokyo')";
  const msg = /out of range for DateTime64\(3, 'Asia\/Tokyo'\) \(0000-01-01 00:00:00\.000 \.\. 9999-12-31 23:59:59\.999 Asia\/Tokyo\)$/;
  const lo = -62167252739000n;
  const hi = 253402268399999n;
  for (const [v, re] of [
    [lo - 1n, /^column "c" .* row 0: -62167252739001n out of range/],
    [hi + 1n, /253402268400000n out of range/],
    [new Date(Number(hi) + 1), /Date\(9999-12-31T15:00:00\.000Z\) out of range/],
    [Number(lo - 1n) / 1000, /-62167252739\.001 out of range/],
    ['9999-12-31 23:59:59.999-01:00', /"9999-12-31 23:59:59\.999-01:00" out of range/],
  ] as [unknown, RegExp][]) {
    encodeError(tokyo, v, re);
    encodeError(tokyo, v, msg);
  }
  // The ends themselves are accepted.
  assert.doesNotThrow(() => encodeNative({ columns: [{ name: 'c', type: tokyo, values: [lo, hi, new Date(Number(hi)), '9999-12-31 23:59:59.999'] }] }));
  // The tester's repro: bigint ticks far past 9999 were stored and read back as Invalid Date.
  encodeError("DateTime64(3, 'UTC')", 10n ** 17n, /100000000000000000n out of range for DateTime64\(3, 'UTC'\) \(0000-01-01 00:00:00\.000 \.\. 9999-12-31 23:59:59\.999 UTC\)/);
  encodeError('DateTime64(3)', 1e15, /1000000000000000 out of range/);
  // Precision 9: Int64 is the narrower bound (1677-09-21 .. 2262-04-11 UTC).
  encodeError('DateTime64(9)', '1677-09-21 00:12:43.145224191', /out of range for DateTime64\(9\) \(1677-09-21 00:12:43\.145224192 \.\. 2262-04-11 23:47:16\.854775807 UTC\)/);
  encodeError('DateTime64(9)', 2n ** 63n, /9223372036854775808n out of range for DateTime64\(9\) ticks \(Int64\)/);
  assert.doesNotThrow(() => encodeNative({ columns: [{ name: 'c', type: 'DateTime64(9)', values: [-(2n ** 63n), 2n ** 63n - 1n] }] }));
});

test("a zone-less DateTime64's range is in the zone of the insert (serverTimezone)", () => {
  const values = ['1900-01-01 00:00:00', '0000-01-01 00:00:00'];
  const enc = encodeNative({ columns: [{ name: 'c', type: 'DateTime64(3)', values }] }, { serverTimezone: 'Asia/Tokyo' });
  assert.deepEqual(Array.from(decodeNative(enc, { dates: 'bigint' })[0]!.columns[0]!.toArray()), [-2209021200000n, -62167252739000n]);
  encodeError('DateTime64(3)', -62167252739001n, /out of range for DateTime64\(3\) \(0000-01-01 00:00:00\.000 \.\. 9999-12-31 23:59:59\.999 Asia\/Tokyo\)/, { serverTimezone: 'Asia/Tokyo' });
  encodeError('DateTime64(3)', new Date('9999-12-31T23:00:00Z'), /out of range/, { serverTimezone: 'Asia/Tokyo' });
});

// ---------------------------------------------------------------- DateTime64 beyond a JS Date

test('DateTime64 read as Date beyond ±8.64e15 ms is a DecodeError naming the type and value, not Invalid Date', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = `SELECT fromUnixTimestamp64Milli(toInt64(x), 'UTC') AS ms, reinterpret(toInt64(intDiv(x, 1000)), 'DateTime64(0)') AS s,
    reinterpret(toInt64(x) * 1000, 'DateTime64(6, \\'Asia/Tokyo\\')') AS us FROM (SELECT arrayJoin([0, 8640000000000000, -8640000000000000, 8640000000001000, -8640000000001000]) AS x)`;
  const want = (await engineJSON<Record<string, string>>(`SELECT toString(ms) ms, toString(s) s, toString(us) us FROM (${sql})`)).data;
  const [b] = decodeNative(await engineNative(sql));
  const [ms, s, us] = b!.columns as unknown as Col[];
  const ticks = ['8640000000001000', '8640000000001', '8640000000001000000'];
  for (const [j, c] of [ms!, s!, us!.withOptions({ dates: 'Date' })].entries()) {
    // The ends ±8.64e15 ms are Dates.
    assert.equal((c.get(1) as Date).getTime(), 8.64e15);
    assert.equal((c.get(2) as Date).getTime(), -8.64e15);
    readsThrow(c, [3, 4], (e: unknown) => {
      assert.ok(e instanceof DecodeError, String(e));
      assert.match(e.message, /^DateTime64\(\d(, '(UTC|Asia\/Tokyo)')?\) value -?\d+ \(ticks\) is beyond the range of a JS Date/);
      assert.match(e.message, /dates: 'string' or 'bigint'/);
      return true;
    });
    assert.match(String((() => { try { c.get(3); } catch (e) { return (e as Error).message; } })()), new RegExp(` value ${ticks[j]} `));
    // The other forms read every row.
    const name = ['ms', 's', 'us'][j]!;
    assert.deepEqual(Array.from(c.withOptions({ dates: 'string' }).toArray()), want.map((r) => r[name]), name);
    assert.equal(c.withOptions({ dates: 'bigint' }).get(3), BigInt(ticks[j]!));
  }
});

// ---------------------------------------------------------------- Enum from bigint

test('Enum8/Enum16 inserts take element numbers as bigint too', async (t) => {
  const cols = [
    { name: 'a', type: "Enum8('x' = -128, 'y' = 1, 'z' = 127)", values: [1n, -128n, 127n, 'y', 1] },
    { name: 'b', type: "Enum16('p' = -32768, 'q' = 1000)", values: [1000n, -32768n, 'q', 1000, 'p'] },
  ];
  const bytes = encodeNative({ columns: cols });
  const dec = decodeNative(bytes)[0]!;
  assert.deepEqual(Array.from(dec.columns[0]!.toArray()), ['y', 'x', 'z', 'y', 'y']);
  assert.deepEqual(Array.from(dec.columns[1]!.toArray()), ['q', 'p', 'q', 'q', 'p']);
  for (const [type, v] of [["Enum8('y' = 1)", 2n], ["Enum8('y' = 1)", 2n ** 70n], ["Enum16('q' = 1000)", -32769n], ["Enum8('y' = 1)", 1.5]] as const)
    encodeError(type, v, new RegExp(`${typeof v === 'bigint' ? `${v}n` : v} not an element of Enum`));
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const back = await engineReadNative<Record<string, string>>(bytes, cols.map((c) => `${c.name} ${c.type}`).join(', '));
  assert.deepEqual(back.data.map((r) => [r.a, r.b]), [['y', 'q'], ['x', 'p'], ['z', 'q'], ['y', 'q'], ['y', 'p']]);
});

// ---------------------------------------------------------------- named Tuple keys

test('named Tuple inserts: a key that is no element is an EncodeError naming it; a missing element still is', () => {
  const type = 'Tuple(a UInt8, b UInt8)';
  encodeError(type, { a: 1, b: 2, c: 3 }, /has key "c", which is not an element of Tuple\(a UInt8, b UInt8\) \(a, b\)/);
  encodeError(type, { a: 1, c: 3 }, /tuple element 'b' is missing/);
  encodeError(type, { a: 1 }, /tuple element 'b' is missing/);
  // Nested is an array of named tuples; Array(Tuple) and Map values too.
  encodeError('Nested(a UInt8, b String)', [{ a: 1, b: 'x', extra: 0 }], /has key "extra"/);
  encodeError(`Map(String, ${type})`, { k: { a: 1, b: 2, bb: 3 } }, /has key "bb"/);
  // Explicit undefined for an element stays as it was (a Nullable element takes it as NULL).
  const d = decodeNative(encodeNative({ columns: [{ name: 't', type: 'Tuple(a UInt8, b Nullable(UInt8))', values: [{ a: 1, b: undefined }] }] }))[0]!;
  assert.deepEqual(d.columns[0]!.get(0), { a: 1, b: null });
});

test('named Tuple inside Dynamic (RowBinary): a key that is no element is refused too', async (t) => {
  const type = 'Tuple(a UInt8, b UInt8)';
  encodeError('Dynamic(max_types=0)', { type, value: { a: 1, b: 2, c: 3 } }, /has key "c"/);
  const ok = encodeNative({ columns: [{ name: 'd', type: 'Dynamic(max_types=0)', values: [{ type, value: { a: 1, b: 2 } }] }] });
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const back = await engineReadNative<{ d: string }>(ok, 'd Dynamic(max_types=0)', 'toString(d) AS d');
  assert.deepEqual(back.data, [{ d: '(1,2)' }]);
});

// ---------------------------------------------------------------- composite Map keys

test("maps: 'object' refuses composite keys (Tuple, Array) instead of colliding String(key)", async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = `SELECT map((1, 'a'), 1, (2, 'b'), 2) AS tk, map([1, 2], 'x', [12], 'y') AS ak, map(1, 'x') AS ik,
    map(toLowCardinality('k'), 1) AS lk, map(toDateTime('2024-01-01 00:00:00', 'UTC'), 2) AS dk`;
  const [b] = decodeNative(await engineNative(sql));
  const [tk, ak, ik, lk, dk] = (b!.columns as unknown as Col[]).map((c) => c.withOptions({ maps: 'object' }));
  for (const [c, key] of [[tk!, 'Tuple\\(UInt8, String\\)'], [ak!, 'Array\\(UInt8\\)']] as const)
    readsThrow(c, [0], (e: unknown) => {
      assert.ok(e instanceof DecodeError, String(e));
      assert.equal(e.code, 'CHWIRE_BAD_OPTION');
      assert.match(e.message, new RegExp(`^Map\\(${key}, \\w+\\): maps: 'object' needs scalar keys, not ${key}.*maps: 'Map'`));
      return true;
    });
  // As a Map (default) the keys are the values; scalar keys still make objects.
  assert.deepEqual(tk!.withOptions({}).get(0), new Map<unknown, number>([[[1, 'a'], 1], [[2, 'b'], 2]]));
  assert.deepEqual(ik!.get(0), { 1: 'x' });
  assert.deepEqual(lk!.get(0), { k: 1 });
  assert.deepEqual(dk!.get(0), { '2024-01-01T00:00:00.000Z': 2 });
});

test("maps: 'object' inside Dynamic (RowBinary): composite keys refused, Date keys as ISO text like the column codec", async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = `SELECT map((1, 'a'), 1)::Dynamic(max_types=0) AS tk, map(toDateTime('2024-01-01 00:00:00', 'UTC'), 2)::Dynamic(max_types=0) AS dk`;
  const [b] = decodeNative(await engineNative(sql), { maps: 'object' });
  const [tk, dk] = b!.columns as unknown as Col[];
  readsThrow(tk!, [0], (e: unknown) => e instanceof DecodeError && /maps: 'object' needs scalar keys, not Tuple\(UInt8, String\)/.test(e.message));
  assert.deepEqual(dk!.get(0), { '2024-01-01T00:00:00.000Z': 2 });
});

test('a time zone Intl does not know is a ChwireError (CHWIRE_UNKNOWN_TIMEZONE) when wall time is needed', async () => {
  // DateTime('Bad/Zone'), one row (value 1), as a server could send it.
  const bytes = new Uint8Array(Buffer.from('01010163144461746554696d6528274261642f5a6f6e65272901000000', 'hex'));
  const [b] = decodeNative(bytes, { dates: 'string' });
  const col = b!.columns[0]!;
  for (const read of [() => col.get(0), () => col.toArray()]) {
    assert.throws(read, (e: unknown) => e instanceof ChwireError && e.code === 'CHWIRE_UNKNOWN_TIMEZONE' && /'Bad\/Zone'/.test(e.message));
  }
  // An instant needs no zone.
  assert.deepEqual(decodeNative(bytes)[0]!.columns[0]!.get(0), new Date(1000));
});

test('an Enum type naming a value or a name twice is refused, as ClickHouse refuses it', () => {
  for (const t of ["Enum8('a' = 1, 'b' = 1)", "Enum16('a' = 1, 'a' = 2)"]) {
    assert.throws(() => encodeNative({ columns: [{ name: 'e', type: t, values: ['a'] }] }), (e: unknown) => e instanceof ChwireError && /given twice/.test(e.message), t);
  }
});

test('Dynamic: a { type, value } naming no type is an EncodeError naming the column, the row and the object', () => {
  assert.throws(
    () => encodeNative({ columns: [{ name: 'd', type: 'Dynamic', values: [1, { type: 'shirt', value: 'red' }] }] }),
    (e: unknown) =>
      e instanceof EncodeError && /column "d" \(Dynamic\) row 1: \{ type, value \}/.test(e.message) && /names no ClickHouse type/.test(e.message) && /type: 'JSON'/.test(e.message),
  );
  // Error text names typed arrays and maps by kind.
  assert.throws(() => encodeNative({ columns: [{ name: 'x', type: 'UInt8', values: [new Int32Array(2)] }] }), (e: unknown) => e instanceof EncodeError && /Int32Array\(2\)/.test(e.message));
});

// Date/time edges: DateTime64 text for any Int64 tick, exact zone transitions, years
// before 100, and range errors on insert. The engine (chDB) is the oracle where it can be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNative, encodeNative, EncodeError } from '../src/index.js';
import { formatDateTime, parseDateTime, parseDays } from '../src/core/columns/timezone.js';
import { engineJSON, engineNative, engineReadNative, hasEngine } from './helpers/engine.js';

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const ZONES = [undefined, 'Europe/Berlin', 'Asia/Kolkata', 'America/New_York'];

/** Ticks for p: Int64 ends, around 0000-01-01 / 9999-12-31 / the epoch / 1900 / 2300, as far as they fit. */
function ticksFor(p: number): bigint[] {
  const scale = 10n ** BigInt(p);
  const secs = [-62198755200n, -62167219201n, -62167219200n, -62167200000n, -30000000000n, -2208988801n, -1n, 0n,
    10413792000n, 20000000000n, 253402297000n, 253402300799n, 253402300800n, 9000000000000000n, -9000000000000000n];
  const out = [INT64_MIN, INT64_MIN + 1n, INT64_MAX, -1n, 1n];
  for (const s of secs) for (const f of [0n, 7n]) {
    const t = s * scale + (p ? f : 0n);
    if (t >= INT64_MIN && t <= INT64_MAX) out.push(t);
  }
  return out;
}

test('DateTime64 text of any Int64 tick matches the engine (clamped to 0000..9999 like it)', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  for (const p of [0, 3, 6, 9]) {
    const cols = ZONES.map((z, i) => `reinterpret(x, 'DateTime64(${p}${z ? `, \\'${z}\\'` : ''})') c${i}`);
    const sql = `SELECT ${cols.join(', ')} FROM (SELECT arrayJoin([${ticksFor(p).map((x) => `toInt64(${x})`).join(', ')}]) x)`;
    const want = (await engineJSON<Record<string, string>>(sql)).data;
    const [b] = decodeNative(await engineNative(sql), { dates: 'string', serverTimezone: 'UTC' });
    for (const c of b!.columns) {
      const col = want.map((r) => r[c.name]);
      assert.deepEqual(Array.from(c.toArray()), col, `${c.type} toArray`);
      assert.deepEqual(col.map((_, r) => c.get(r)), col, `${c.type} get`);
    }
  }
});

test('raw bigint ticks outside the documented range still round-trip through the engine', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const values = [INT64_MIN, INT64_MAX, -3000000000n * 10n ** 9n];
  const bytes = encodeNative({ columns: [{ name: 't', type: 'DateTime64(9)', values }] });
  const back = await engineReadNative<{ t: string }>(bytes, 't DateTime64(9)', 'toString(reinterpret(t, \'Int64\')) AS t');
  assert.deepEqual(back.data.map((r) => r.t), values.map(String));
});

test('offsets are exact at transitions off 15-minute boundaries (Intl is the reference)', () => {
  // Africa/Monrovia left -0:44:30 at 1972-01-07 00:44:30 UTC; Kathmandu went +5:30 → +5:45 at 1985-12-31 18:30 UTC.
  const cases: [string, number][] = [['Africa/Monrovia', 63593070], ['Asia/Kathmandu', 504901800]];
  for (const [tz, at] of cases) {
    const intl = new Intl.DateTimeFormat('sv-SE', { timeZone: tz, dateStyle: 'short', timeStyle: 'medium' });
    const secs = [at - 3600, at - 901, at - 31, at - 1, at, at + 1, at + 15, at + 29, at + 899, at + 3600];
    // Through the codec (as the t19 repro) and straight.
    const col = decodeNative(encodeNative({ columns: [{ name: 't', type: `DateTime('${tz}')`, values: secs }] }), { dates: 'string' })[0]!.columns[0]!;
    assert.deepEqual(col.toArray(), secs.map((s) => intl.format(new Date(s * 1000))), tz);
    for (const s of secs.reverse()) assert.equal(formatDateTime(s, tz), intl.format(new Date(s * 1000)), `${tz} ${s}`);
  }
});

test('dates before year 100 are not taken as 19xx', () => {
  assert.equal(parseDays('0099-01-01'), Date.parse('0099-01-01T00:00:00Z') / 86400000);
  assert.equal(parseDays('0000-02-29'), Date.parse('0000-02-29T00:00:00Z') / 86400000);
  assert.equal(parseDays('0100-02-29'), undefined);
  assert.deepEqual(parseDateTime('0050-06-01 12:34:56', undefined), [Date.parse('0050-06-01T12:34:56Z') / 1000, '']);
});

function rejects(type: string, value: unknown, reason: RegExp): void {
  assert.throws(
    () => encodeNative({ columns: [{ name: 'c', type, values: [value] }] }),
    (e: unknown) => {
      assert.ok(e instanceof EncodeError, String(e));
      assert.equal(e.code, 'CHWIRE_BAD_VALUE');
      assert.match(e.message, new RegExp(`^column "c" \\(${type.replace(/[()]/g, '\\$&')}\\) row 0: `));
      assert.match(e.message, reason);
      return true;
    },
    `${type} ${String(value)}`,
  );
}

test('out-of-range inserts are EncodeErrors naming the value', () => {
  // DateTime64's range is what the engine stores and prints back unchanged: wall time 0000-01-01 ..
  // 9999-12-31 in the column's zone, ticks within Int64 (its documented 1900–2299 is not enforced).
  const dt9 = /out of range for DateTime64\(9\) \(1677-09-21 00:12:43\.145224192 \.\. 2262-04-11 23:47:16\.854775807 UTC\)$/;
  rejects('DateTime64(9)', new Date('2300-01-01T00:00:00Z'), /Date\(2300-01-01T00:00:00\.000Z\) out of range/);
  rejects('DateTime64(9)', new Date('2300-01-01T00:00:00Z'), dt9);
  rejects('DateTime64(9)', '2262-04-11 23:47:16.854775808', /"2262-04-11 23:47:16\.854775808" out of range/);
  rejects('DateTime64(9)', '1677-09-21 00:12:43.145224191', dt9);
  rejects('DateTime64(9)', 1e300, /1e\+300 out of range for DateTime64\(9\)/);
  rejects('DateTime64(9)', -1e300, /-1e\+300 out of range/);
  rejects('DateTime64(9)', 2n ** 63n, /9223372036854775808n out of range for DateTime64\(9\) ticks \(Int64\)/);
  rejects('DateTime64(9)', -(2n ** 63n) - 1n, /-9223372036854775809n out of range/);
  rejects('DateTime64(3)', new Date('+010000-01-01T00:00:00Z'), /out of range for DateTime64\(3\) \(0000-01-01 00:00:00\.000 \.\. 9999-12-31 23:59:59\.999 UTC\)/);
  rejects("DateTime64(0, 'Asia/Tokyo')", new Date('-000001-06-01T00:00:00Z'), /out of range for DateTime64\(0, 'Asia\/Tokyo'\)/);
  rejects('DateTime64(3)', 1e12, /1000000000000 out of range/);
  rejects('Date32', '0099-01-01', /"0099-01-01" out of range for Date32/);
  rejects('Time64(9)', 1e300, /1e\+300 out of range for Time64\(9\) \(-999:59:59\.999999999 \.\. 999:59:59\.999999999\)/);
  rejects('Time64(3)', '1000:00:00', /"1000:00:00" out of range/);
  rejects('Time64(0)', -3600000, /-3600000 out of range/);
  rejects('Time', 3600000, /3600000 out of range for Time \(-999:59:59 \.\. 999:59:59\)/);
  rejects('Time', 2n ** 40n, /1099511627776n out of range/);
});

test('range ends are accepted and read back by the engine as written', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const cols = [
    { name: 'a', type: 'DateTime64(9)', values: ['1900-01-01 00:00:00', '2262-04-11 23:47:16.854775807'] },
    { name: 'b', type: 'DateTime64(3)', values: [new Date('1900-01-01T00:00:00Z'), '2299-12-31 23:59:59.999'] },
    { name: 'c', type: 'Date32', values: ['1900-01-01', '2299-12-31'] },
    { name: 'd', type: 'Time64(9)', values: ['-999:59:59.999999999', 3599999.5] },
    { name: 'e', type: 'Time', values: [-3599999, '999:59:59'] },
  ];
  const back = await engineReadNative<Record<string, string>>(encodeNative({ columns: cols }), cols.map((c) => `${c.name} ${c.type}`).join(', '));
  assert.deepEqual(back.data, [
    { a: '1900-01-01 00:00:00.000000000', b: '1900-01-01 00:00:00.000', c: '1900-01-01', d: '-999:59:59.999999999', e: '-999:59:59' },
    { a: '2262-04-11 23:47:16.854775807', b: '2299-12-31 23:59:59.999', c: '2299-12-31', d: '999:59:59.500000000', e: '999:59:59' },
  ]);
});

test('stored Time beyond 999:59:59 shows as the engine shows it', async (t) => {
  if (!(await hasEngine())) return t.skip('chdb is not installed');
  const sql = "SELECT CAST(x, 'Time') t, CAST(toDecimal64(x + 0.25, 3), 'Time64(3)') t3 FROM (SELECT arrayJoin([5000000, -5000000, 3599999, -3600000]) x)";
  const want = (await engineJSON<Record<string, string>>(sql)).data;
  const b = decodeNative(await engineNative(sql))[0]!;
  assert.deepEqual(Array.from({ length: b.rowCount }, (_, r) => ({ t: b.columns[0]!.get(r), t3: b.columns[1]!.get(r) })), want);
});

test("DateTime strings without a zone are read in the server's zone on insert, as it formats them (serverTimezone)", async () => {
  const values = ['2024-01-01 01:00:00', '2024-07-01 02:00:00', '2024-01-01 01:00:00Z'];
  const columns = [
    { name: 'plain', type: 'DateTime', values },
    { name: 'own', type: "DateTime('Asia/Tokyo')", values },
    { name: 'ms', type: 'DateTime64(3)', values },
  ];
  const berlin = decodeNative(encodeNative({ columns }, { serverTimezone: 'Europe/Berlin' }))[0]!;
  const utc = decodeNative(encodeNative({ columns }))[0]!;
  const iso = (b: typeof utc, j: number) => (b.columns[j]!.toArray() as Date[]).map((d) => d.toISOString());
  // Berlin is UTC+1 in winter, +2 in summer; an explicit Z or a column zone wins.
  assert.deepEqual(iso(berlin, 0), ['2024-01-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z']);
  assert.deepEqual(iso(berlin, 2), ['2024-01-01T00:00:00.000Z', '2024-07-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z']);
  assert.deepEqual(iso(berlin, 1), iso(utc, 1));
  assert.deepEqual(iso(berlin, 1)[0], '2023-12-31T16:00:00.000Z');
  assert.deepEqual(iso(utc, 0), ['2024-01-01T01:00:00.000Z', '2024-07-01T02:00:00.000Z', '2024-01-01T01:00:00.000Z']);
  // Read back as text in the same zone, the strings are what was written.
  const text = (berlin.columns[0] as unknown as { withOptions(o: object): { toArray(): unknown[] } }).withOptions({ dates: 'string', serverTimezone: 'Europe/Berlin' }).toArray();
  assert.deepEqual(text, ['2024-01-01 01:00:00', '2024-07-01 02:00:00', '2024-01-01 02:00:00']);
});

// Encoding from plain JS values: the forms of value-mapping.md and the obvious
// alternatives are accepted and read back by the engine as meant; values that
// do not fit fail with an error naming the column, row and value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EncodeError, decodeNative, encodeNative } from '../src/index.js';
import { setUtf8Writer, utf8Writer } from '../src/core/io/utf8.js';
import { engineJSON, engineNative, engineReadNative } from './helpers/engine.js';

test('alternative JS forms are encoded as meant (engine reads them back)', async () => {
  const columns = [
    { name: 'i64', type: 'Int64', values: [1, -2n, '9223372036854775807'] },
    { name: 'u64', type: 'UInt64', values: [new Uint8Array(0).length, 18446744073709551615n, '42'] },
    { name: 'dec', type: 'Decimal(10, 3)', values: ['-1234.5', 0.125, 7n] },
    { name: 'dt', type: "DateTime('Asia/Tokyo')", values: [new Date('2024-01-02T03:04:05Z'), 1700000000, '2024-01-02 12:04:05'] },
    { name: 'dt64', type: "DateTime64(6, 'UTC')", values: ['2024-01-02 03:04:05.123456', new Date('2024-01-02T03:04:05.5Z'), 1704164645123456n] },
    { name: 'd', type: 'Date', values: ['2024-02-29', new Date('2024-03-01T00:00:00Z'), 19000] },
    { name: 'b', type: 'Bool', values: [true, 0, 'true'] },
    { name: 'e', type: "Enum8('a' = 1, 'b' = 2)", values: ['a', 2, 'b'] },
    { name: 'ip', type: 'IPv6', values: ['::1', '1.2.3.4', '2001:db8::1'] },
    { name: 'm', type: 'Map(String, UInt8)', values: [new Map([['k', 1]]), { x: 2, y: 3 }, [['z', 4]]] },
    { name: 'n', type: 'Nullable(String)', values: [null, undefined, 'v'] },
    { name: 'lc', type: 'LowCardinality(Nullable(String))', values: ['a', null, 'a'] },
    { name: 't', type: 'Tuple(a UInt8, b String)', values: [[1, 'x'], { a: 2, b: 'y' }, [3, 'z']] },
    { name: 'f32', type: 'Float32', values: [1.5, '2.5', 'nan'] },
  ];
  const bytes = encodeNative({ columns });
  const structure = columns.map((c) => `${c.name} ${c.type}`).join(', ');
  const r = await engineReadNative(bytes, structure);
  assert.deepEqual(r.data, [
    { i64: '1', u64: '0', dec: '-1234.5', dt: '2024-01-02 12:04:05', dt64: '2024-01-02 03:04:05.123456', d: '2024-02-29', b: true, e: 'a', ip: '::1', m: { k: 1 }, n: null, lc: 'a', t: { a: 1, b: 'x' }, f32: 1.5 },
    { i64: '-2', u64: '18446744073709551615', dec: '0.125', dt: '2023-11-15 07:13:20', dt64: '2024-01-02 03:04:05.500000', d: '2024-03-01', b: false, e: 'b', ip: '::ffff:1.2.3.4', m: { x: 2, y: 3 }, n: null, lc: null, t: { a: 2, b: 'y' }, f32: 2.5 },
    { i64: '9223372036854775807', u64: '42', dec: '7', dt: '2024-01-02 12:04:05', dt64: '2024-01-02 03:04:05.123456', d: '2022-01-08', b: true, e: 'b', ip: '2001:db8::1', m: { z: 4 }, n: 'v', lc: 'a', t: { a: 3, b: 'z' }, f32: 'nan' },
  ]);
});

test('values that do not fit name the column, row and value', () => {
  const cases: [string, unknown[], RegExp][] = [
    ['UInt8', [1, 256], /column "c" \(UInt8\) row 1: 256 out of range for UInt8/],
    ['Int64', [1, 1.5], /row 1: 1\.5 not an integer/],
    ['Decimal(5, 2)', ['1.234'], /row 0: "1\.234" has more than 2 fractional digits/],
    ['Decimal(5, 2)', ['1234.5'], /row 0: "1234\.5" out of range for Decimal\(5, 2\)/],
    ['Date', ['2024-02-30'], /row 0: "2024-02-30" not a date/],
    ['DateTime', [-1], /row 0: -1 out of range for DateTime/],
    ['FixedString(2)', ['abc'], /row 0: "abc" 3 bytes do not fit FixedString\(2\)/],
    ['String', [{}], /row 0: \{\} not a string/],
    ['String', [{ a: 1, b: 2 }], /row 0: \{ a, b \} not a string/],
    ['Array(UInt8)', [[1], [2, 300]], /row 1: array\(2\) element 1: 300 out of range/],
    ['Enum8(\'a\' = 1)', ['b'], /row 0: "b" not an element of Enum8\('a' = 1\)/],
    ['UUID', ['nope'], /row 0: "nope" not a UUID/],
    ['LowCardinality(String)', ['a', null], /row 1: null NULL in non-Nullable/],
    ['Nullable(UInt8)', [null, -1], /row 1: -1 out of range for UInt8/],
  ];
  for (const [type, values, re] of cases) {
    assert.throws(
      () => encodeNative({ columns: [{ name: 'c', type, values }] }),
      (e: unknown) => e instanceof EncodeError && e.code === 'CHWIRE_BAD_VALUE' && re.test((e as Error).message),
      `${type}: ${re}`,
    );
  }
  assert.throws(
    () => encodeNative({ columns: [{ name: 'a', type: 'UInt8', values: [1, 2] }, { name: 'b', type: 'UInt8', values: [1] }] }),
    (e: unknown) => e instanceof EncodeError && e.code === 'CHWIRE_COLUMN_LENGTH_MISMATCH',
  );
});

test('String columns that start as ASCII but hold invalid or multi-byte UTF-8 later decode value by value exactly', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const ascii = Array.from({ length: 50 }, (_, i) => enc.encode(`plain-ascii-value-${i}`));
  const cases: Uint8Array[][] = [
    // lone continuation bytes and a truncated sequence: U+FFFD each, same byte and char counts
    [...ascii, new Uint8Array([0x61, 0x80, 0x62]), new Uint8Array([0xc3]), new Uint8Array([0xff, 0xfe])],
    // a literal U+FFFD, a 2-, 3- and 4-byte character
    [...ascii, enc.encode('\uFFFD'), enc.encode('é'), enc.encode('€'), enc.encode('😀')],
  ];
  for (const values of cases) {
    const bytes = encodeNative({ columns: [{ name: 's', type: 'String', values }] });
    const got = decodeNative(bytes)[0]!.columns[0]!.toArray();
    assert.deepEqual(got, values.map((v) => dec.decode(v)));
  }
});

test('non-ASCII String columns decode in bulk (one TextDecoder call) exactly, and fall back to value by value where a value is not valid on its own', () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const many = (f: (i: number) => string) => Array.from({ length: 300 }, (_, i) => enc.encode(f(i)));
  const long = (n: number) => enc.encode('l'.repeat(n));
  const cases: [string, Uint8Array[], boolean][] = [
    ['Cyrillic, CJK, emoji (4-byte: surrogate pairs), mixed with ASCII', many((i) => [`имя-${i}`, `名前${i}`, `😀${i}🎉`, `plain-${i}`, ''][i % 5]!), true],
    ['a long value whose length bytes hold a valid sequence (0xC3 0xA9 0x01: 21 699 bytes)', [...many((i) => `ünï-${i}`), long(21699), enc.encode('après')], true],
    ['long values (two-byte lengths) between non-ASCII ones', [...many((i) => `ß${i}`), long(200), enc.encode('ж'), long(130)], true],
    // 0xC3 ends one value; the next value's length (169 = 0xA9 0x01) would complete it as 'é'.
    ['a trailing lead byte that the next length would complete', [...many((i) => `ö${i}`), new Uint8Array([0x61, 0xc3]), long(169)], false],
    // 0xE2 0x82 0xAC is '€': split over two values it is two invalid halves.
    ['a character split over two values', [...many((i) => `€${i}`), new Uint8Array([0xe2, 0x82]), new Uint8Array([0xac, 0x62])], false],
    ['a literal U+FFFD', [...many((i) => `ö${i}`), enc.encode('\uFFFD')], false],
    ['invalid bytes', [...many((i) => `ö${i}`), new Uint8Array([0xff]), new Uint8Array([0xed, 0xa0, 0x80])], false],
  ];
  for (const [label, values, bulk] of cases) {
    const bytes = encodeNative({ columns: [{ name: 's', type: 'String', values }] });
    const col = decodeNative(bytes)[0]!.columns[0]! as unknown as { toArray(): unknown[]; reader(): (i: number) => unknown; get(i: number): unknown; data: { bulk?: unknown } };
    const want = values.map((v) => dec.decode(v));
    assert.deepEqual(col.toArray(), want, label);
    const read = col.reader();
    want.forEach((w, i) => {
      assert.equal(read(i), w, `${label}: reader row ${i}`);
      assert.equal(col.get(i), w, `${label}: get row ${i}`);
    });
    assert.equal(col.data.bulk !== null, bulk, `${label}: decoded in bulk`);
  }
});

test("the main entry's UTF-8 writer (Node's Buffer#utf8Write) gives TextEncoder's bytes, lone surrogates included; the engine reads them back", async () => {
  const pad = (n: number) => 'p'.repeat(n);
  // Lengths around the ASCII loop's 32 units, the one-byte length's 43 and 128, and two-byte lengths.
  const tails = ['😀', '\uD800', 'a\uDC00b', '\uD83D', 'é', '日本', '\u0080\u07FF\u0800\uFFFF', 'x\uD83D\uDE00\uDBFF', ''];
  const values: string[] = [];
  for (const n of [0, 30, 31, 32, 33, 41, 42, 43, 60, 124, 125, 126, 127, 128, 200, 20000]) for (const t of tails) values.push(pad(n) + t, t + pad(n));
  const columns = [{ name: 's', type: 'String', values }];
  const installed = utf8Writer();
  assert.ok(installed, 'the main entry installed a platform writer (Buffer#utf8Write exists here)');
  let calls = 0;
  let native: Uint8Array;
  let core: Uint8Array;
  try {
    setUtf8Writer((s, dst, pos) => (calls++, installed(s, dst, pos)));
    native = encodeNative({ columns });
    setUtf8Writer(undefined);
    core = encodeNative({ columns });
  } finally {
    setUtf8Writer(installed);
  }
  assert.ok(calls > values.length / 2, `the platform writer wrote the values past the ASCII loop (${calls} calls)`);
  assert.deepEqual(Buffer.from(native), Buffer.from(core), 'the same bytes with and without the platform writer');
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const want = values.map((v) => dec.decode(enc.encode(v)));
  assert.deepEqual(decodeNative(native)[0]!.columns[0]!.toArray(), want);
  const back = await engineReadNative(native, 's String');
  assert.deepEqual(back.data.map((r) => (r as { s: string }).s), want);
});

test('LowCardinality dictionaries never merge different values (strings that look like byte keys, bytes, numbers)', async () => {
  const enc = new TextEncoder();
  const values = ['B104,105', enc.encode('hi'), 'B', new Uint8Array(0), 'hi', 1, '1', 'D0', new Date(0).toISOString()];
  const bytes = encodeNative({ columns: [{ name: 's', type: 'LowCardinality(String)', values }] });
  const want = ['B104,105', 'hi', 'B', '', 'hi', '1', '1', 'D0', '1970-01-01T00:00:00.000Z'];
  assert.deepEqual(decodeNative(bytes)[0]!.columns[0]!.toArray(), want);
  const back = await engineReadNative(bytes, 's LowCardinality(String)');
  assert.deepEqual(back.data.map((r) => (r as { s: string }).s), want);
});

test('IPv6 text is the engine’s, also for IPv4-compatible and IPv4-mapped addresses', async () => {
  const addrs = ['::', '::1', '::2:3', '::1.2.3.4', '::1:0', '::ffff:1.2.3.4', '::ffff:0:0', '1::', '1:0:0:1::', '0:0:0:0:0:1:0:0', 'fe80::1', '2001:db8::ff00:42:8329', '1:2:3:4:5:6:7:8', '0:1::'];
  const sql = `SELECT ${addrs.map((a, i) => `toIPv6('${a}') AS a${i}`).join(', ')}`;
  const [b] = decodeNative(await engineNative(sql));
  const { data } = await engineJSON(sql);
  const row = data[0] as Record<string, string>;
  b!.columns.forEach((c, i) => assert.equal(c.get(0), row[`a${i}`], addrs[i]));
});

test("names of Object.prototype members are not types, and not tuple fields an object has", () => {
  for (const type of ['constructor', 'toString', 'AggregateFunction(sum, constructor)', '__proto__'])
    assert.throws(
      () => encodeNative({ columns: [{ name: 'c', type, values: [] }] }),
      (e: unknown) => (e as { code?: string }).code === 'CHWIRE_UNSUPPORTED_TYPE' || (e as { code?: string }).code === 'CHWIRE_BAD_TYPE_NAME',
      type,
    );
  assert.throws(
    () => encodeNative({ columns: [{ name: 't', type: 'Tuple(toString String, constructor String)', values: [{}] }] }),
    (e: unknown) => e instanceof EncodeError && /tuple element 'toString' is missing/.test(e.message),
  );
});

test('LowCardinality rows never share a mutable value; Date map keys are ISO text with maps: object', async () => {
  const [b] = decodeNative(await engineNative("SELECT toLowCardinality(toDateTime('2024-01-01 00:00:00', 'UTC')) AS d, map(toDateTime('2024-01-01 00:00:00', 'UTC'), 2) AS m FROM numbers(3)"));
  const [d, m] = b!.columns as unknown as { toArray(): unknown[]; reader(): (i: number) => unknown; withOptions(o: object): { toArray(): unknown[]; get(i: number): unknown } }[];
  for (const rows of [d!.toArray(), [0, 1, 2].map(d!.reader())]) {
    (rows[0] as Date).setTime(0);
    assert.equal((rows[1] as Date).toISOString(), '2024-01-01T00:00:00.000Z');
  }
  assert.deepEqual(m!.withOptions({ maps: 'object' }).get(0), { '2024-01-01T00:00:00.000Z': 2 });
});

test('String values around the one-byte length limit (127/128 bytes, ASCII and not) encode exactly', async () => {
  const values: string[] = [];
  for (let n = 40; n <= 130; n++) values.push('a'.repeat(n), 'é'.repeat(Math.ceil(n / 2)), 'x'.repeat(n - 2) + '€');
  const bytes = encodeNative({ columns: [{ name: 's', type: 'String', values }] });
  assert.deepEqual(decodeNative(bytes)[0]!.columns[0]!.toArray(), values);
  const back = await engineReadNative(bytes, 's String');
  assert.deepEqual(back.data.map((r) => (r as { s: string }).s), values);
});

test('String encode grows its buffer past the ASCII-sized estimate: 3-byte and 4-byte text, long values, bytes and numbers (engine reads them back)', async () => {
  // The buffer is sized for one byte per code unit: text that needs 3 (CJK) or 2 (emoji pairs)
  // bytes per unit must grow it, at the start, in the middle and at the very end.
  const values: unknown[] = [];
  for (let i = 0; i < 3000; i++) {
    if (i % 500 === 0) values.push('名'.repeat(200 + i / 10)); // long: two-byte length
    else if (i % 7 === 0) values.push(new TextEncoder().encode(`bytes-${i}`));
    else if (i % 11 === 0) values.push(i % 2 ? BigInt(i) * 1000000007n : i * 3);
    else if (i % 3 === 0) values.push(`😀${i}🎉`);
    else values.push(`名前${i}`.repeat(1 + (i % 5)));
  }
  values.push('界'.repeat(5000)); // the last value is the widest
  const bytes = encodeNative({ columns: [{ name: 's', type: 'String', values }] });
  const text = (v: unknown) => (v instanceof Uint8Array ? new TextDecoder().decode(v) : String(v));
  const back = decodeNative(bytes)[0]!.columns[0]!.toArray();
  assert.deepEqual(Array.from(back), values.map(text));
  const r = await engineReadNative<{ n: string; h: string }>(bytes, 's String', 'length(s) AS n, hex(s) AS h');
  assert.equal(r.data.length, values.length);
  for (let i = 0; i < values.length; i += 97) {
    const want = new TextEncoder().encode(text(values[i]));
    assert.equal(Number(r.data[i]!.n), want.length, `row ${i}`);
    assert.equal(r.data[i]!.h, Buffer.from(want).toString('hex').toUpperCase(), `row ${i}`);
  }
  const last = new TextEncoder().encode(text(values.at(-1)));
  assert.equal(r.data.at(-1)!.h, Buffer.from(last).toString('hex').toUpperCase());
});

test('encodeNative writes String values straight into its output: the same bytes as the converted path, the same errors', async () => {
  const strings = Array.from({ length: 5000 }, (_, i) => (i % 9 === 0 ? `ключ-${i}` : i % 13 === 0 ? new TextEncoder().encode(`b${i}`) : i % 17 === 0 ? i : `v${i}`.repeat(i % 40)));
  const input = { columns: [{ name: 'n', type: 'UInt32', values: Array.from({ length: 5000 }, (_, i) => i) }, { name: 's', type: 'String', values: strings }, { name: 'ns', type: 'Nullable(String)', values: strings.map((v, i) => (i % 3 ? v : null)) }] };
  const direct = encodeNative(input);
  // A decoded Block is written through the converted path (its data re-encoded): byte for byte equal.
  const blocks = decodeNative(direct);
  assert.deepEqual(encodeNative(blocks), direct);
  // Large enough that the output is the writer's own slab (handed over, not copied): still exact.
  const big = Array.from({ length: 200_000 }, (_, i) => `value-${i}-${'x'.repeat(i % 11)}`);
  const bytes = encodeNative({ columns: [{ name: 's', type: 'String', values: big }] });
  assert.deepEqual(Array.from(decodeNative(bytes)[0]!.columns[0]!.toArray()), big);
  const r = await engineReadNative<{ n: string; s: string }>(bytes, 's String', 'count() AS n, max(s) AS s');
  assert.deepEqual(r.data, [{ n: '200000', s: [...big].sort().at(-1) }]);
  assert.throws(
    () => encodeNative({ columns: [{ name: 'a', type: 'String', values: ['x', 'y'] }, { name: 'b', type: 'String', values: ['z'] }] }),
    (e: unknown) => e instanceof EncodeError && e.code === 'CHWIRE_COLUMN_LENGTH_MISMATCH' && /column "b" has 1 rows, but the block has 2/.test((e as Error).message),
  );
  assert.throws(
    () => encodeNative({ columns: [{ name: 'k', type: 'UInt8', values: [1, 2, 3] }, { name: 's', type: 'String', values: ['a', 'b', Symbol('c')] }] }),
    (e: unknown) => e instanceof EncodeError && e.code === 'CHWIRE_BAD_VALUE' && /column "s" \(String\) row 2: .* not a string/.test((e as Error).message),
  );
});

test('LowCardinality encode with 1-, 2- and 4-byte indexes: the engine reads every row back', async () => {
  // Dictionaries of ≤ 256, ≤ 65 536 and more entries take UInt8, UInt16 and UInt32 indexes.
  for (const distinct of [200, 40_000, 70_000]) {
    const values = Array.from({ length: 150_000 }, (_, i) => (i % 10 === 0 ? null : `k${(i * 7919) % distinct}`));
    const bytes = encodeNative({ columns: [{ name: 's', type: 'LowCardinality(Nullable(String))', values }] });
    assert.deepEqual(Array.from(decodeNative(bytes)[0]!.columns[0]!.toArray()), values, `${distinct} distinct`);
    const r = await engineReadNative<{ h: string; n: string; u: string }>(bytes, 's LowCardinality(Nullable(String))', 'toString(sum(cityHash64(s))) AS h, toString(countIf(s IS NULL)) AS n, toString(uniqExact(s)) AS u');
    const want = await engineJSON<{ h: string; n: string; u: string }>(
      `SELECT toString(sum(cityHash64(s))) AS h, toString(countIf(s IS NULL)) AS n, toString(uniqExact(s)) AS u FROM (SELECT if(number % 10 = 0, NULL, concat('k', toString((number * 7919) % ${distinct}))) AS s FROM numbers(150000))`,
    );
    assert.deepEqual(r.data, want.data, `${distinct} distinct`);
  }
});

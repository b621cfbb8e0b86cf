// Keys such as '__proto__' and 'constructor' arriving as data (JSON paths, Map keys, named
// Tuple fields, JSON text) are ordinary own keys of the decoded value: the value keeps
// Object.prototype as its prototype and nothing global changes, on decode or on encode.
// The engine (chDB = ClickHouse 26.7) reads our re-encoded values back as the same JSON.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeNative, encodeNative, type Block } from '../src/index.js';
import { engineNative, engineJSON, engineReadNative, type EngineSettings } from './helpers/engine.js';

const PROTO_KEYS = Reflect.ownKeys(Object.prototype);

/** Object.prototype is as it was and `({}).polluted` is unset; undoes any pollution before failing. */
function assertNoPollution(): void {
  const added = Reflect.ownKeys(Object.prototype).filter((k) => !PROTO_KEYS.includes(k));
  const polluted = ({} as Record<string, unknown>).polluted;
  for (const k of added) delete (Object.prototype as Record<PropertyKey, unknown>)[k];
  assert.deepEqual(added, []);
  assert.equal(polluted, undefined);
}

/** Every plain object in v has Object.prototype as its prototype. */
function assertPlainPrototypes(v: unknown): void {
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView(v)) return;
  if (Array.isArray(v)) return v.forEach(assertPlainPrototypes);
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  for (const k of Object.keys(v)) assertPlainPrototypes((v as Record<string, unknown>)[k]);
}

/** Decoded values equal `expected` (computed keys `['__proto__']` define own keys) and nothing leaked. */
function assertValues(actual: unknown[], expected: unknown[]): void {
  assertNoPollution();
  assert.deepStrictEqual(actual, expected);
  actual.forEach(assertPlainPrototypes);
}

const ROWS = `arrayJoin(['{"a":1,"__proto__":{"polluted":"engine"}}', '{"__proto__":"leaf"}', '{"x":{"__proto__":{"polluted":2}},"constructor":{"polluted":3}}'])`;
const OBJECTS: unknown[] = [
  { a: 1, ['__proto__']: { polluted: 'engine' } },
  { ['__proto__']: 'leaf' },
  { x: { ['__proto__']: { polluted: 2 } }, constructor: { polluted: 3 } },
];

/**
 * Engine bytes → decoded values (checked), then back into the engine twice — the decoded
 * blocks and the plain values (`plain` maps each value to an insert value) — giving the
 * engine's own JSON of the query.
 */
async function engineCase(sql: string, structure: string, expected: unknown[], settings: EngineSettings = {}, opts = {}, plain = (v: unknown) => v) {
  const blocks: Block[] = decodeNative(await engineNative(sql, settings), opts);
  const col = blocks[0]!.columns[0]!;
  const values = Array.from(col.toArray());
  assertValues(values, expected);
  assertValues(values.map((_, i) => col.get(i)), expected);
  const { data } = await engineJSON(sql);
  const fromBlocks = encodeNative(blocks);
  const fromValues = encodeNative({ columns: [{ name: col.name, type: col.type, values: values.map(plain) }] });
  assertNoPollution();
  assert.deepStrictEqual((await engineReadNative(fromBlocks, structure)).data, data);
  assert.deepStrictEqual((await engineReadNative(fromValues, structure)).data, data);
  // Our read of our own encoding is the same value again.
  assertValues(Array.from(decodeNative(fromValues, opts)[0]!.columns[0]!.toArray()), expected);
}

test('JSON paths named __proto__ / constructor from the engine (dynamic paths)', async () => {
  await engineCase(`SELECT ${ROWS}::JSON AS j`, 'j JSON', OBJECTS);
});

test('JSON paths named __proto__ in shared data (max_dynamic_paths=0)', async () => {
  await engineCase(`SELECT ${ROWS}::JSON(max_dynamic_paths=0) AS j`, 'j JSON(max_dynamic_paths=0)', OBJECTS);
});

test('JSON paths named __proto__ in the FLATTENED serialization', async () => {
  await engineCase(`SELECT ${ROWS}::JSON AS j`, 'j JSON', OBJECTS, { output_format_native_use_flattened_dynamic_and_json_serialization: 1 });
});

test('JSON typed path __proto__.b', async () => {
  await engineCase("SELECT '{\"__proto__\":{\"b\":7}}'::JSON(`__proto__.b` UInt8) AS j", 'j JSON(`__proto__.b` UInt8)', [{ ['__proto__']: { b: 7 } }]);
});

test('JSON with a __proto__ key in the STRING serialization (JSON text)', async () => {
  const text: unknown[] = [
    { a: 1, ['__proto__']: { polluted: 'engine' } },
    { ['__proto__']: 'leaf' },
    { x: { ['__proto__']: { polluted: 2 } }, constructor: { polluted: 3 } },
  ];
  const sql = `SELECT ${ROWS}::JSON AS j`;
  const bytes = await engineNative(sql, { output_format_native_write_json_as_string: 1 });
  const [b] = decodeNative(bytes);
  assertValues(Array.from(b!.columns[0]!.toArray()), text);
  assert.deepEqual(Buffer.from(encodeNative([b!])), Buffer.from(bytes));
  assertNoPollution();
  const { data } = await engineJSON(sql);
  assert.deepStrictEqual((await engineReadNative(encodeNative({ columns: [{ name: 'j', type: 'JSON', values: text }] }), 'j JSON')).data, data);
});

test('JSON text with a __proto__ key is accepted as an insert value', async () => {
  const bytes = encodeNative({ columns: [{ name: 'j', type: 'JSON', values: ['{"a":1,"__proto__":{"b":2}}', '{"__proto__":{"polluted":"text"}}'] }] });
  assertNoPollution();
  assertValues(Array.from(decodeNative(bytes)[0]!.columns[0]!.toArray()), [{ a: 1, ['__proto__']: { b: 2 } }, { ['__proto__']: { polluted: 'text' } }]);
  const back = await engineReadNative(bytes, 'j JSON');
  assert.deepStrictEqual(back.data, [{ j: JSON.parse('{"__proto__":{"b":"2"},"a":"1"}') }, { j: JSON.parse('{"__proto__":{"polluted":"text"}}') }]);
});

test('JSON.parse objects with a __proto__ key encode and decode without pollution', async () => {
  const row = JSON.parse('{"a":1,"__proto__":{"polluted":"yes"},"n":{"__proto__":{"__proto__":{"polluted":1}}}}');
  for (const type of ['JSON', 'JSON(max_dynamic_paths=0)', 'Dynamic(max_types=0)', 'Dynamic']) {
    const bytes = encodeNative({ columns: [{ name: 'j', type, values: [row] }] });
    assertNoPollution();
    assertValues(Array.from(decodeNative(bytes)[0]!.columns[0]!.toArray()), [
      { a: 1, ['__proto__']: { polluted: 'yes' }, n: { ['__proto__']: { ['__proto__']: { polluted: 1 } } } },
    ]);
    const back = await engineReadNative(bytes, `j ${type}`);
    assert.deepStrictEqual(back.data, [{ j: JSON.parse('{"__proto__":{"polluted":"yes"},"a":"1","n":{"__proto__":{"__proto__":{"polluted":"1"}}}}') }]);
  }
});

test('JSON inside Dynamic (SharedVariant) with __proto__ paths', async () => {
  await engineCase(`SELECT ${ROWS}::JSON::Dynamic(max_types=0) AS d`, 'd Dynamic(max_types=0)', OBJECTS);
});

test("Map key __proto__ inside Dynamic (SharedVariant) with maps: 'object'", async () => {
  const type = 'Map(String, Map(String, UInt8))';
  await engineCase(
    `SELECT map('__proto__', map('polluted', 1), 'k', map('y', 2))::Dynamic(max_types=0) AS d`,
    'd Dynamic(max_types=0)',
    [{ ['__proto__']: { polluted: 1 }, k: { y: 2 } }],
    {},
    { maps: 'object' },
    (value) => ({ type, value }),
  );
});

test('named Tuple field __proto__ inside Dynamic (SharedVariant)', async () => {
  const type = 'Tuple(`__proto__` UInt8, b UInt8)';
  await engineCase(`SELECT CAST((1, 2), '${type}')::Dynamic(max_types=0) AS d`, 'd Dynamic(max_types=0)', [{ ['__proto__']: 1, b: 2 }], {}, {}, (value) => ({ type, value }));
  // An inherited '__proto__' (Object.prototype) is not a field value.
  assert.throws(() => encodeNative({ columns: [{ name: 'd', type: 'Dynamic(max_types=0)', values: [{ type, value: { b: 2 } }] }] }));
  assertNoPollution();
});

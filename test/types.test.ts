// Type-name parser and canonical printer, checked against the real engine.
//
// test/fixtures/type-names.json records, for every declared spelling in DECLARED below, the
// name ClickHouse prints for it (system.columns.type, which is IDataType::getName(), the same
// string a Native block header carries). Regenerate it after changing DECLARED with:
//
//   CHWIRE_REGEN_TYPE_NAMES=1 node scripts/run-tests.mjs types
//
// The fixture keeps the main tests independent of chDB; the "live engine" test re-asks the
// engine and fails when its answers drift from the fixture.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import {
  expectArgCount,
  parseType,
  printType,
  typeArgName,
  typeArgNumber,
  typeArgString,
  typeArgType,
} from '../src/core/types/index.js';
import { TypeParseError } from '../src/core/errors.js';
import { Limits } from '../src/core/limits.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/type-names.json', import.meta.url));

/**
 * Declared spellings. `alias: true` marks spellings whose canonical form needs alias
 * resolution (INT → Int32, Decimal32(4) → Decimal(9, 4), Enum → Enum8, 0x10 → 16); that is the
 * codec registry's job, so for those only the server's answer is round-tripped.
 */
interface Declared {
  t: string;
  alias?: true;
}
const DECLARED: Declared[] = [
  // plain
  ...['UInt8', 'UInt16', 'UInt32', 'UInt64', 'UInt128', 'UInt256', 'Int8', 'Int16', 'Int32', 'Int64', 'Int128',
    'Int256', 'Float32', 'Float64', 'BFloat16', 'Bool', 'String', 'UUID', 'IPv4', 'IPv6', 'Date', 'Date32',
    'DateTime', 'Time', 'JSON', 'Dynamic', 'Point', 'Ring', 'LineString', 'MultiLineString', 'Polygon',
    'MultiPolygon', 'Geometry', 'IntervalNanosecond', 'IntervalMicrosecond', 'IntervalMillisecond',
    'IntervalSecond', 'IntervalMinute', 'IntervalHour', 'IntervalDay', 'IntervalWeek', 'IntervalMonth',
    'IntervalQuarter', 'IntervalYear'].map((t) => ({ t })),
  // parametrised
  { t: 'FixedString(16)' },
  { t: 'FixedString(1)' },
  { t: 'Decimal(9, 2)' },
  { t: 'Decimal(76, 38)' },
  { t: 'Decimal(18, 0)' },
  { t: 'DateTime(\'UTC\')' },
  { t: 'DateTime(\'Asia/Kolkata\')' },
  { t: 'DateTime64(3)' },
  { t: 'DateTime64(9, \'America/New_York\')' },
  { t: 'Time64(3)' },
  { t: 'Time64(9)' },
  { t: 'QBit(Float32, 8)' },
  { t: 'QBit(BFloat16, 64)' },
  { t: 'QBit(Float64, 3)' },
  // enums: odd strings, escapes, negative values, unsorted and auto-assigned input
  { t: String.raw`Enum8('it\'s' = 1, 'b' = -2)` },
  { t: String.raw`Enum8('a' = -128, 'b' = 127)` },
  { t: String.raw`Enum16('a' = -32768, 'b' = 32767)` },
  { t: String.raw`Enum8('x\ty\nz\\w\0v' = 1, 'é' = 2, '"' = 3, '\b\f\r' = 4, '' = 5, ' ' = 6, '\x01\x7f' = 7)` },
  { t: String.raw`Enum8('a''b' = 1, 'c\qd' = 2, '\xc3\xa9' = 3)` },
  { t: String.raw`Enum8('1\q' = 1, '2\_' = 2, '3\%' = 3, '4\a' = 4, '5\v' = 5, '6\e' = 6, '7\N' = 7, '8\"' = 8, '9\`' = 9, '10\/' = 10, '11\1' = 11)` },
  { t: String.raw`Enum8('a', 'b', 'c')` },
  { t: String.raw`Enum8('a' = -3, 'b', 'c')` },
  { t: String.raw`Enum16('z' = 1000, 'y' = -1000, 'x' = 0)` },
  { t: String.raw`Enum('a' = 1, 'b' = 2)`, alias: true },
  { t: String.raw`Nullable(Enum8('\'' = 1))` },
  // nested
  { t: 'Array(Nullable(Float64))' },
  { t: 'Array(Array(Array(UInt8)))' },
  { t: 'Map(LowCardinality(String), Array(Nullable(Float64)))' },
  { t: 'Map(String, UInt64)' },
  { t: 'Map(UInt8, Map(String, Array(Nullable(Decimal(9, 2)))))' },
  { t: 'LowCardinality(Nullable(String))' },
  { t: 'LowCardinality(String)' },
  { t: 'LowCardinality(UInt64)' },
  { t: 'Array(LowCardinality(FixedString(5)))' },
  { t: 'Nullable(DateTime64(6, \'UTC\'))' },
  { t: 'Array(Point)' },
  // tuples, named elements, back-quoted names
  { t: 'Tuple(UInt8, String)' },
  { t: 'Tuple(a UInt8, b String)' },
  { t: 'Tuple(`b c` String, a UInt8)' },
  { t: 'Tuple()' },
  { t: 'Tuple(Tuple())' },
  { t: 'Array(Tuple())' },
  { t: 'Tuple(a Tuple(b Tuple(c Array(UInt8))))' },
  { t: 'Tuple(`1a` UInt8, `a-b` UInt8, `a.b` UInt8, `ü` UInt8, `a\\`b` UInt8, `$x` UInt8, _ UInt8, _1 UInt8)' },
  { t: 'Tuple(`select` UInt8, `from` UInt8, `distinct` UInt8, `all` UInt8, `table` UInt8, `values` UInt8, `NULL` UInt8, `Null` UInt8)' },
  { t: 'Tuple(`where` UInt8, `inf` UInt8, `nan` UInt8, `true` UInt8, `skip` UInt8, `Tuple` UInt8, `x\\ty` String, `a\\\\b` UInt8)' },
  { t: 'Tuple(`a\\nb` UInt8, `a\'b` UInt8, `a\\rb` UInt8, `a\\0b` UInt8)' },
  { t: 'Array(Tuple(a Array(UInt8), b Map(String, Nested(x UInt8))))' },
  { t: 'Nested(a UInt32, b String)' },
  { t: 'Nested(a UInt32, `b c` String, `x.y` Array(UInt8))' },
  { t: 'Nested(n Nested(m UInt8))' },
  // aggregate functions
  { t: 'AggregateFunction(uniq, UInt64)' },
  { t: 'AggregateFunction(1, sumMap, Array(UInt8), Array(UInt64))' },
  { t: 'AggregateFunction(quantiles(0.5, 0.9), Float64)' },
  { t: 'AggregateFunction(quantile(1e-7), Float64)' },
  { t: 'AggregateFunction(topKWeighted(10, 3, \'counts\'), String, UInt64)' },
  { t: 'AggregateFunction(groupArrayResample(-5, 5, 1), UInt8, Int8)' },
  { t: 'AggregateFunction(groupArray(18446744073709551615), UInt8)' },
  { t: 'AggregateFunction(argMax, String, DateTime(\'UTC\'))' },
  { t: 'AggregateFunction(argMaxIf, String, DateTime, UInt8)' },
  { t: 'AggregateFunction(count)' },
  { t: 'AggregateFunction(1, count)' },
  { t: 'AggregateFunction(1, sumMapFiltered([1, 2]), Array(UInt8), Array(UInt64))' },
  { t: 'AggregateFunction(sumMap, Array(UInt8), Array(UInt64))', alias: true }, // server adds the version
  { t: 'AggregateFunction(quantiles(0.50, 1e-1), Float64)', alias: true }, // numbers re-formatted
  { t: 'SimpleAggregateFunction(sum, UInt64)' },
  { t: 'SimpleAggregateFunction(anyLast, Nullable(String))' },
  { t: 'SimpleAggregateFunction(sumMap, Tuple(Array(UInt8), Array(UInt64)))' },
  { t: 'SimpleAggregateFunction(max, LowCardinality(String))' },
  // Variant / Dynamic / JSON
  { t: 'Variant(String, UInt64)' },
  { t: 'Variant(UInt64, String, Array(UInt8))' },
  { t: 'Variant(Int8, Array(Int8), Int16, String, Map(String, Int8))' },
  { t: 'Map(String, Variant(UInt8, String))' },
  { t: 'Dynamic(max_types=8)' },
  { t: 'Dynamic(max_types = 0)' },
  { t: 'Array(Dynamic(max_types=254))' },
  { t: 'JSON(max_dynamic_paths=10, a.b UInt32, SKIP c, SKIP REGEXP \'^x\')' },
  { t: 'JSON(max_dynamic_paths=0)' },
  { t: 'JSON(max_dynamic_types=0, max_dynamic_paths = 5)' },
  { t: 'JSON(max_dynamic_paths=10, a.b UInt32, SKIP c, SKIP REGEXP \'^x\', `a b`.c String, `a.b`.c Int8, max_dynamic_types=3, SKIP z.y, SKIP REGEXP \'a\\\'b\', b UInt8)' },
  { t: 'JSON(SKIP b, SKIP a, SKIP a, SKIP REGEXP \'z\', SKIP REGEXP \'a\')' },
  { t: 'JSON(`skip` UInt8, `SKIP` String, `regexp` UInt8, `from` UInt8, `null` UInt8, `max_dynamic_paths` String, x Array(Nullable(UInt8)))' },
  { t: 'JSON(SKIP `from`, SKIP `skip`, SKIP x, SKIP `1a`, SKIP a.`b c`)' },
  { t: 'Array(JSON(a Tuple(x UInt8, y String)))' },
  // whitespace, trailing commas, quoted type names, multi-word SQL names
  { t: 'Array( Nullable ( String ) )' },
  { t: '  Map(String,UInt64)  ' },
  { t: 'Tuple(Int8, String,)' },
  { t: 'Decimal(9, 2,)' },
  { t: 'Array(`UInt8`)' },
  { t: 'Tuple(\n    a UInt8,\n    b String)' },
  { t: 'Array(DOUBLE PRECISION)', alias: true },
  { t: 'Array(INT(11) UNSIGNED)', alias: true },
  { t: 'Decimal32(4)', alias: true },
  { t: 'Decimal(9)', alias: true },
  { t: 'FixedString(0x10)', alias: true },
];

interface Fixture {
  engine: string;
  note: string;
  /** [declared spelling, the name ClickHouse prints for it] */
  names: [string, string][];
}

const ENGINE_SETTINGS = [
  'allow_experimental_variant_type=1',
  'allow_experimental_dynamic_type=1',
  'allow_experimental_json_type=1',
  'enable_time_time64_type=1',
  'allow_suspicious_low_cardinality_types=1',
  'allow_experimental_qbit_type=1',
  'allow_suspicious_variant_types=1',
  'flatten_nested=0',
].join(', ');

type QueryAsync = (sql: string, opts?: { format?: string }) => Promise<{ text(): string }>;

async function loadChdb(): Promise<QueryAsync | null> {
  try {
    const mod = (await import('chdb')) as unknown as { queryAsync: QueryAsync };
    return mod.queryAsync;
  } catch {
    return null;
  }
}

/** Asks the engine what it calls each declared type: one Memory table, one column per type. */
async function engineNames(queryAsync: QueryAsync): Promise<{ engine: string; names: string[] }> {
  const table = `chwire_type_names_${process.pid}`;
  const cols = DECLARED.map((d, i) => `c${i} ${d.t}`).join(',\n');
  const sql =
    `DROP TABLE IF EXISTS ${table}; ` +
    `CREATE TABLE ${table} (${cols}) ENGINE = Memory SETTINGS ${ENGINE_SETTINGS}; ` +
    `SELECT version(), groupArray(type) FROM (SELECT type FROM system.columns ` +
    `WHERE database = currentDatabase() AND table = '${table}' ORDER BY position) FORMAT JSONCompact; ` +
    `DROP TABLE ${table}`;
  const out = JSON.parse((await queryAsync(sql)).text()) as { data: [[string, string[]]] };
  const [engine, names] = out.data[0]!;
  assert.equal(names.length, DECLARED.length, 'one system.columns row per declared type');
  return { engine, names };
}

function loadFixture(): Fixture {
  return JSON.parse(readFileSync(FIXTURE, 'utf8')) as Fixture;
}

if (process.env.CHWIRE_REGEN_TYPE_NAMES === '1') {
  test('regenerate test/fixtures/type-names.json from the engine', async () => {
    const queryAsync = await loadChdb();
    assert.ok(queryAsync, 'chdb is needed to regenerate the fixture');
    const { engine, names } = await engineNames(queryAsync);
    const fixture: Fixture = {
      engine,
      note: 'Generated by test/types.test.ts (CHWIRE_REGEN_TYPE_NAMES=1): declared spelling -> system.columns.type',
      names: DECLARED.map((d, i) => [d.t, names[i]!]),
    };
    writeFileSync(FIXTURE, JSON.stringify(fixture, null, 2) + '\n');
  });
}

test('fixture covers every declared spelling, in order', () => {
  const fx = loadFixture();
  assert.deepEqual(
    fx.names.map(([d]) => d),
    DECLARED.map((d) => d.t),
  );
  const canonical = new Set(fx.names.map(([, c]) => c));
  assert.ok(canonical.size >= 80, `at least 80 distinct canonical names (got ${canonical.size})`);
});

test('printType(parseType(name)) === name for every name the engine printed', () => {
  for (const [, canonical] of loadFixture().names) {
    assert.equal(printType(parseType(canonical)), canonical, canonical);
  }
});

test('non-canonical spellings print as the engine\'s canonical name', () => {
  const fx = loadFixture();
  let checked = 0;
  for (let i = 0; i < DECLARED.length; i++) {
    const d = DECLARED[i]!;
    const [declared, canonical] = fx.names[i]!;
    if (d.alias || declared === canonical) continue;
    assert.equal(printType(parseType(declared)), canonical, declared);
    checked++;
  }
  assert.ok(checked >= 15, `non-canonical spellings checked: ${checked}`);
});

test('live engine: names still match the fixture, and toTypeName\'s multi-line tuples parse', async (t) => {
  const queryAsync = await loadChdb();
  if (!queryAsync) return t.skip('chdb is not installed');
  const { names } = await engineNames(queryAsync);
  assert.deepEqual(names, loadFixture().names.map(([, c]) => c), 'engine output drifted from the fixture');

  // toTypeName() pretty-prints named tuples over several lines; the Native header does not.
  const out = JSON.parse(
    (
      await queryAsync(
        "SELECT toTypeName(CAST((1, 'x'), 'Tuple(a UInt8, b String)')), " +
          "toTypeName(CAST([(1, (2, 'z'))], 'Array(Tuple(a UInt8, t Tuple(`b c` UInt8, d String)))'))",
        { format: 'JSONCompact' },
      )
    ).text(),
  ) as { data: [[string, string]] };
  const [pretty1, pretty2] = out.data[0]!;
  assert.match(pretty1, /\n/);
  assert.equal(printType(parseType(pretty1)), 'Tuple(a UInt8, b String)');
  assert.equal(printType(parseType(pretty2)), 'Array(Tuple(a UInt8, t Tuple(`b c` UInt8, d String)))');
});

test('tree shape', () => {
  assert.deepEqual(parseType('UInt64'), { name: 'UInt64', args: [], hasParens: false });
  assert.deepEqual(parseType('Tuple()'), { name: 'Tuple', args: [], hasParens: true });
  assert.deepEqual(parseType("DateTime64(9, 'America/New_York')"), {
    name: 'DateTime64',
    hasParens: true,
    args: [
      { kind: 'number', value: '9' },
      { kind: 'string', value: 'America/New_York' },
    ],
  });
  assert.deepEqual(parseType(String.raw`Enum8('it\'s' = 1, 'b\\\n\t\0\x41' = -2)`).args, [
    { kind: 'enum', name: "it's", value: 1 },
    { kind: 'enum', name: 'b\\\n\t\0A', value: -2 },
  ]);
  // \xHH bytes form UTF-8 sequences.
  assert.deepEqual(parseType(String.raw`Enum8('\xc3\xa9t\xC3\xA9' = 1)`).args, [{ kind: 'enum', name: 'été', value: 1 }]);
  // Auto-assigned enum values (DataTypeEnum: count up from the first explicit value, or 1).
  assert.deepEqual(
    parseType("Enum8('a' = 5, 'b', 'c')").args.map((a) => (a.kind === 'enum' ? a.value : null)),
    [5, 6, 7],
  );
  assert.deepEqual(parseType('Tuple(`b c` String, a UInt8)').args, [
    { kind: 'type', name: 'b c', type: { name: 'String', args: [], hasParens: false } },
    { kind: 'type', name: 'a', type: { name: 'UInt8', args: [], hasParens: false } },
  ]);
  assert.deepEqual(parseType('AggregateFunction(1, quantiles(0.5, 0.9), Float64)').args, [
    { kind: 'number', value: '1' },
    {
      kind: 'function',
      name: 'quantiles',
      hasParens: true,
      params: [
        { kind: 'number', value: '0.5' },
        { kind: 'number', value: '0.9' },
      ],
    },
    { kind: 'type', type: { name: 'Float64', args: [], hasParens: false } },
  ]);
  assert.deepEqual(parseType('SimpleAggregateFunction(sum, UInt64)').args[0], {
    kind: 'function',
    name: 'sum',
    params: [],
    hasParens: false,
  });
  assert.deepEqual(parseType("JSON(max_dynamic_paths=10, `a b`.c UInt32, SKIP x.`y`, SKIP REGEXP '^x')").args, [
    { kind: 'setting', name: 'max_dynamic_paths', value: '10' },
    { kind: 'type', name: 'a b.c', type: { name: 'UInt32', args: [], hasParens: false } },
    { kind: 'skip', path: 'x.y', regexp: false },
    { kind: 'skip', path: '^x', regexp: true },
  ]);
  assert.deepEqual(parseType('Dynamic(max_types=8)').args, [{ kind: 'setting', name: 'max_types', value: '8' }]);
  assert.deepEqual(parseType("Object('json')"), {
    name: 'Object',
    hasParens: true,
    args: [{ kind: 'string', value: 'json' }],
  });
  // A back-quoted `skip` is a path, a bare SKIP is the keyword.
  assert.deepEqual(parseType('JSON(`skip` UInt8)').args[0], {
    kind: 'type',
    name: 'skip',
    type: { name: 'UInt8', args: [], hasParens: false },
  });
  // Names are kept as written (alias resolution is the registry's job); SQL multi-word names
  // become `UPPER SUFFIX` as in the server's parser; a MySQL display width is dropped.
  assert.equal(parseType('double  precision').name, 'DOUBLE PRECISION');
  assert.equal(parseType('int(11) unsigned').name, 'INT UNSIGNED');
  assert.deepEqual(parseType('INT(11)'), { name: 'INT', args: [], hasParens: false });
  assert.equal(parseType('National Character Large Object').name, 'NATIONAL CHARACTER LARGE OBJECT');
  assert.equal(printType(parseType('Array( Nullable( Int32 ) , )')), 'Array(Nullable(Int32))');
  assert.equal(printType(parseType('Decimal(9, - 2)')), 'Decimal(9, -2)');
});

function assertBadName(name: string, what: RegExp): void {
  assert.throws(
    () => parseType(name),
    (e: unknown) => {
      assert.ok(e instanceof TypeParseError, `TypeParseError for ${JSON.stringify(name)}`);
      assert.equal(e.code, 'CHWIRE_BAD_TYPE_NAME');
      // Names longer than 10,000 characters are quoted up to that point.
      const quoted = name.length <= 10_000 ? JSON.stringify(name) : JSON.stringify(name.slice(0, 10_000));
      assert.ok(e.message.includes(quoted), `message quotes the name: ${e.message.slice(0, 300)}`);
      assert.match(e.message, what, name);
      return true;
    },
  );
}

test('malformed names throw TypeParseError quoting the name and saying what and where', () => {
  assertBadName('', /empty type name/);
  assertBadName('   ', /empty type name/);
  assertBadName('Array(UInt8', /expected ',' or '\)' at the end/);
  assertBadName('Array(UInt8))', /trailing characters at position 12/);
  assertBadName('UInt8 UInt8', /trailing characters at position 6/);
  assertBadName('Array()x', /trailing characters at position 7/);
  assertBadName('(UInt8)', /expected a type name at position 0/);
  assertBadName('Array(,)', /expected a type, a number or a quoted string at position 6/);
  assertBadName('Array(UInt8,,)', /expected a type, a number or a quoted string at position 12/);
  assertBadName('Tuple(a UInt8', /expected ',' or '\)'/);
  assertBadName('FixedString(16a)', /bad number literal at position 12/);
  assertBadName('Decimal(1e)', /bad number literal/);
  assertBadName('Decimal(1.2.3)', /bad number literal/);
  assertBadName("DateTime('UTC)", /unterminated string literal at position 9/);
  assertBadName("DateTime('UTC\\x4')", /bad \\x escape/);
  assertBadName("Enum8('a = 1)", /unterminated string literal/);
  assertBadName('Enum8(1)', /expected a quoted enum element name/);
  assertBadName("Enum8('a' = x)", /expected an integer enum value/);
  assertBadName("Enum8('a' = 1.5)", /expected an integer enum value/);
  assertBadName("Enum8('a' = 99999999999999999999)", /enum value out of range/);
  assertBadName('Nested(a)', /expected the type of a Nested element/);
  assertBadName('Dynamic(max_types)', /expected '=' after a Dynamic setting name/);
  assertBadName('Dynamic(8)', /expected a Dynamic setting name/);
  assertBadName('Dynamic(max_types=x)', /expected a number/);
  assertBadName('JSON(SKIP REGEXP x)', /expected a quoted regular expression/);
  assertBadName('JSON(a.)', /JSON path part/);
  assertBadName('JSON(a.b)', /expected a type or '=' after JSON path "a.b"/);
  assertBadName('AggregateFunction(uniq(x), UInt8)', /expected a number, a quoted string or an array literal/);
  assertBadName('AggregateFunction(quantile(0.5 UInt8)', /expected ',' or '\)' in aggregate function parameters/);
  assertBadName('`8`', /type name starts with a digit/);
  assertBadName('`a b`', /invalid character in type name/);
  assertBadName('``', /empty type name/);
  assertBadName('NULL', /"NULL" is not a type name/);
  assertBadName('Nullable(NULL)', /"NULL" is not a type name/);
  assertBadName('Array(UInt8)\0', /trailing characters/);
  assertBadName('Array(UInt8) -- comment', /trailing characters/);
  assertBadName('Array\u00a0(UInt8)', /invalid character in type name/);
  assertBadName("Tuple('a' UInt8)", /expected a type name/);
  assertBadName('Map(String, UInt8', /expected ',' or '\)' at the end/);
});

test(`nesting depth: ${Limits.maxTypeDepth} type levels accepted, ${Limits.maxTypeDepth + 1} rejected`, () => {
  // Depth counts type nodes from the root: `UInt8` is 1, `Array(UInt8)` is 2.
  const nest = (levels: number): string => 'Array('.repeat(levels - 1) + 'UInt8' + ')'.repeat(levels - 1);
  const ok = nest(Limits.maxTypeDepth);
  assert.equal(printType(parseType(ok)), ok);
  assertBadName(nest(Limits.maxTypeDepth + 1), /nesting deeper than 300 levels/);
  // Every nesting form counts, not only Array.
  const tuples = 'Tuple(a '.repeat(Limits.maxTypeDepth) + 'UInt8' + ')'.repeat(Limits.maxTypeDepth);
  assertBadName(tuples, /nesting deeper than 300 levels/);
  // Very deep input fails cleanly, without a stack overflow.
  assertBadName(nest(100_000), /nesting deeper than 300 levels/);
});

test('long names are quoted in full up to 10,000 characters, then cut', () => {
  const long = 'Tuple(' + 'UInt8, '.repeat(3000) + 'x';
  assert.throws(() => parseType(long), (e: unknown) => {
    assert.ok(e instanceof TypeParseError);
    assert.ok(e.message.includes(`${JSON.stringify(long.slice(0, 10_000))}… (${long.length - 10_000} more characters)`));
    assert.match(e.message, /expected ',' or '\)' at the end$/);
    return true;
  });
});

test('argument helpers', () => {
  const dt = parseType("DateTime64(9, 'UTC')");
  assert.equal(typeArgNumber(dt, 0), 9);
  assert.equal(typeArgString(dt, 1), 'UTC');
  assert.equal(typeArgNumber(parseType('FixedString(0x10)'), 0), 16);
  const tuple = parseType('Tuple(a UInt8, `b c` Array(String))');
  assert.deepEqual(typeArgType(tuple, 0), { name: 'UInt8', args: [], hasParens: false });
  assert.equal(typeArgName(tuple, 1), 'b c');
  assert.equal(printType(typeArgType(tuple, 1)), 'Array(String)');
  expectArgCount(dt, 1, 2);

  const bad = (f: () => unknown, what: RegExp): void => {
    assert.throws(f, (e: unknown) => {
      assert.ok(e instanceof TypeParseError);
      assert.equal(e.code, 'CHWIRE_BAD_TYPE_NAME');
      assert.match(e.message, what);
      return true;
    });
  };
  bad(() => typeArgString(dt, 2), /"DateTime64\(9, 'UTC'\)": argument 3 must be a quoted string, but the type has only 2/);
  bad(() => typeArgNumber(dt, 1), /argument 2 must be an integer, but the type has a quoted string there/);
  bad(() => typeArgType(dt, 0), /argument 1 must be a type, but the type has a number there/);
  bad(() => typeArgNumber(parseType('Decimal(1.5, 2)'), 0), /argument 1 must be an integer/);
  bad(() => typeArgNumber(parseType('FixedString(99999999999999999999)'), 0), /argument 1 must be an integer/);
  bad(() => expectArgCount(dt, 3), /"DateTime64\(9, 'UTC'\)": expected 3 argument\(s\), got 2/);
});

test('parsing typical names is fast (sanity bound, not a benchmark)', () => {
  const names = [
    'UInt64',
    'Nullable(String)',
    "DateTime64(3, 'UTC')",
    'Map(LowCardinality(String), Array(Nullable(Float64)))',
    "Enum8('a' = 1, 'b' = 2, 'c' = 3)",
    'Tuple(a UInt8, b String, c Array(Int32))',
  ];
  const start = performance.now();
  let n = 0;
  for (let i = 0; i < 20_000; i++) n += parseType(names[i % names.length]!).args.length;
  const ms = performance.now() - start;
  assert.ok(n > 0);
  assert.ok(ms < 2000, `20k parses took ${ms.toFixed(0)} ms`);
});

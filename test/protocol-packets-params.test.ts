import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  bindQueryParams,
  encodeQueryParameters,
  extractParamTypes,
  formatParamText,
  formatSqlLiteral,
  quoteFieldDump,
  quoteIdentifier,
  quoteString,
  SettingFlags,
  unquoteFieldDump,
} from '../src/core/protocol/index.js';

test('quoteString escapes quotes, backslashes, control characters and NUL', () => {
  const cases: [string, string][] = [
    ['', "''"],
    ["it's", "'it\\'s'"],
    ['a\\b', "'a\\\\b'"],
    ['line1\nline2\r\t', "'line1\\nline2\\r\\t'"],
    ['nul\0byte', "'nul\\0byte'"],
    ['\b\f', "'\\b\\f'"],
    ["'; DROP TABLE t; --", "'\\'; DROP TABLE t; --'"],
    ['unicode ü 日本', "'unicode ü 日本'"],
  ];
  for (const [input, out] of cases) {
    assert.equal(quoteString(input), out);
    assert.equal(unquoteFieldDump(out), input);
  }
  assert.equal(quoteIdentifier('we`ird\\name'), '`we\\`ird\\\\name`');
});

test('native parameter text (HTTP param_x form) and its field dump', () => {
  const cases: [unknown, string | undefined, string][] = [
    ["it's", 'String', "it's"],
    ['a\\b\tc\nd', 'String', 'a\\\\b\\tc\\nd'],
    [42, 'UInt32', '42'],
    [-1.5, 'Float64', '-1.5'],
    [NaN, 'Float64', 'nan'],
    [2n ** 64n - 1n, 'UInt64', '18446744073709551615'],
    [true, 'Bool', 'true'],
    [true, 'UInt8', '1'],
    [null, 'Nullable(String)', '\\N'],
    [new Date(Date.UTC(2024, 0, 2)), 'Date', '2024-01-02'],
    [new Date(Date.UTC(2024, 0, 2, 3, 4, 5)), 'DateTime', '1704164645'],
    [new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 67)), 'DateTime64(3)', '1704164645.067'],
    [['a', "b'c", null], 'Array(Nullable(String))', "['a','b\\'c',NULL]"],
    [[1, 'x'], 'Tuple(UInt8, String)', "(1,'x')"],
    [new Map([['k', 1]]), 'Map(String, UInt8)', "{'k':1}"],
    [{ k: [1, 2] }, 'Map(String, Array(UInt8))', "{'k':[1,2]}"],
    ['tbl', 'Identifier', 'tbl'],
    // As text a boolean is 'true' (what client-side binding gives a String too); String elements are quoted.
    [true, 'String', 'true'],
    [[5n, false, 1.5], 'Array(String)', "['5','false','1.5']"],
  ];
  for (const [v, type, text] of cases) {
    assert.equal(formatParamText(v as never, type), text, `${String(v)} as ${type}`);
  }
  assert.equal(quoteFieldDump("it's"), "'it\\'s'");
  const enc = encodeQueryParameters({ s: "it's", n: 1, a: ['x'] }, undefined, 'SELECT {s:String}, {n:UInt8}, {a:Array(String)}');
  assert.deepEqual(enc, [
    { name: 's', value: "'it\\'s'", flags: SettingFlags.CUSTOM },
    { name: 'n', value: "'1'", flags: SettingFlags.CUSTOM },
    { name: 'a', value: "'[\\'x\\']'", flags: SettingFlags.CUSTOM },
  ]);
});

test('SQL literals for client-side binding', () => {
  const cases: [unknown, string | undefined, string][] = [
    ["it's", 'String', "'it\\'s'"],
    [5, 'UInt8', '5'],
    [5, undefined, '5'],
    ['5', 'Int32', '5'],
    [-3n, 'Int64', '(-3)'], // never a bare '-': `10-{x}` must not become the comment `10--3`
    [Infinity, 'Float64', 'inf'],
    [true, 'Bool', '1'],
    [false, undefined, '0'],
    [null, 'Nullable(UInt8)', "CAST(NULL, 'Nullable(UInt8)')"],
    [undefined, 'Nullable(UInt8)', "CAST(NULL, 'Nullable(UInt8)')"],
    [null, undefined, 'NULL'],
    [new Date(Date.UTC(2024, 1, 29)), 'Date', "toDate('2024-02-29')"],
    ['2024-02-29', 'Date', "toDate('2024-02-29')"],
    [new Date(Date.UTC(2024, 1, 29, 1, 2, 3)), "DateTime('UTC')", "toDateTime(1709168523, 'UTC')"],
    ['2024-02-29 01:02:03', 'DateTime', "toDateTime('2024-02-29 01:02:03')"],
    [new Date(Date.UTC(2024, 1, 29, 1, 2, 3, 4)), 'DateTime64(3)', "toDateTime64('2024-02-29 01:02:03.004', 3, 'UTC')"],
    [['a', null], 'Array(Nullable(String))', "['a', CAST(NULL, 'Nullable(String)')]"],
    [[[1], [2, 3]], 'Array(Array(UInt8))', '[[1], [2, 3]]'],
    [[1, 'x'], 'Tuple(a UInt8, b String)', "tuple(1, 'x')"],
    [[7], 'Tuple(UInt8)', 'tuple(7)'],
    [{ a: 1 }, 'Map(String, UInt8)', "map('a', 1)"],
    ['x`y', 'Identifier', '`x\\`y`'],
    ['01234567-89ab-cdef-0123-456789abcdef', 'UUID', "CAST('01234567-89ab-cdef-0123-456789abcdef' AS UUID)"],
    ['a', "LowCardinality(String)", "'a'"],
    ['a', "Enum8('a' = 1)", "CAST('a' AS Enum8('a' = 1))"],
  ];
  for (const [v, type, lit] of cases) assert.equal(formatSqlLiteral(v as never, type), lit, `${String(v)} as ${type}`);
  assert.throws(() => formatSqlLiteral('1; DROP TABLE t', 'UInt8'), { code: 'CHWIRE_BAD_PARAM' });
  assert.throws(() => formatSqlLiteral(new Date(NaN), 'Date'), { code: 'CHWIRE_BAD_PARAM' });
});

test('bindQueryParams: never inside literals, identifiers, comments or substituted values', () => {
  const sql =
    "SELECT {x:String}, '{x:String}', \"{x:String}\", `{x:String}` /* {x:String} /* nested {x:String} */ {x:String} */ -- {x:String}\n, {y:UInt8}";
  const out = bindQueryParams(sql, { x: "{y:UInt8}'; DROP TABLE t; --", y: 7 });
  assert.equal(
    out,
    "SELECT '{y:UInt8}\\'; DROP TABLE t; --', '{x:String}', \"{x:String}\", `{x:String}` /* {x:String} /* nested {x:String} */ {x:String} */ -- {x:String}\n, 7",
  );
  // Escaped and doubled quotes inside literals do not end them early.
  assert.equal(bindQueryParams("SELECT 'a\\'{x:UInt8}', 'b''{x:UInt8}', {x:UInt8}", { x: 1 }), "SELECT 'a\\'{x:UInt8}', 'b''{x:UInt8}', 1");
  // Not placeholders: map literals, format strings.
  assert.equal(bindQueryParams('SELECT {}, {a}, {x: UInt8 }', { x: 2 }), 'SELECT {}, {a}, 2');
  assert.equal(bindQueryParams("SELECT {t:DateTime('UTC')}", { t: '2024-01-01 00:00:00' }), "SELECT toDateTime('2024-01-01 00:00:00', 'UTC')");
  assert.throws(() => bindQueryParams('SELECT {missing:String}', {}), (e: unknown) => {
    const err = e as { code: string; message: string };
    return err.code === 'CHWIRE_MISSING_PARAM' && err.message.includes("'missing'");
  });
  assert.deepEqual(extractParamTypes("SELECT {a:Array(String)}, '{b:String}', {c : Map(String, UInt8)}"), {
    a: 'Array(String)',
    c: 'Map(String, UInt8)',
  });
  // types override the placeholder's declaration
  assert.equal(bindQueryParams('SELECT {n:String}', { n: 1 }, { n: 'UInt8' }), 'SELECT 1');
});

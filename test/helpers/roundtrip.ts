// Shared checks for the type tests (test/types-*.test.ts): the engine makes Native bytes,
// chwire decodes them, and every property of issue 3 is asserted on those bytes.
import assert from 'node:assert/strict';
import { engineNative, engineQuery, sqlString, withTempFile, type EngineSettings } from './engine.js';
import { decodeNative, encodeNative, NativeStreamDecoder } from '../../src/core/native/index.js';
import { parseJsonExact } from '../../src/core/columns/json-text.js';
import { ChwireError } from '../../src/core/errors.js';
import type { Block } from '../../src/core/native/block-types.js';
import type { ValueOptions } from '../../src/core/columns/column.js';

/** JS values made comparable with the engine's exact JSON (bigints that fit become numbers). */
export function norm(v: unknown): unknown {
  if (typeof v === 'bigint') return v >= -(2n ** 53n) && v <= 2n ** 53n ? Number(v) : v;
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), norm(x)]));
  if (v instanceof Uint8Array) return Buffer.from(v).toString('latin1');
  if (ArrayBuffer.isView(v)) return Array.from(v as unknown as ArrayLike<unknown>, norm);
  if (Array.isArray(v)) return v.map(norm);
  if (v instanceof Date) return v.toISOString().replace('T', ' ').replace(/(\.000)?Z$/, '');
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]));
  return v;
}

/** Deep equality with a relative tolerance for numbers (Float32 prints shorter in JSON). */
export function assertClose(actual: unknown, expected: unknown, path = '$'): void {
  // Decimals are exact strings here, numbers in the engine's JSON.
  if (typeof actual === 'string' && typeof expected === 'number' && /^-?\d+(\.\d+)?$/.test(actual)) actual = Number(actual);
  if (typeof actual === 'number' && typeof expected === 'number') {
    if (Object.is(actual, expected) || Math.abs(actual - expected) <= 1e-6 * Math.max(1, Math.abs(expected))) return;
    assert.fail(`${path}: ${actual} !== ${expected}`);
  }
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(show(actual))}`);
    assert.equal(actual.length, expected.length, `${path}: length`);
    expected.forEach((x, i) => assertClose(actual[i], x, `${path}[${i}]`));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    assert.ok(actual !== null && typeof actual === 'object', `${path}: expected an object, got ${JSON.stringify(show(actual))}`);
    const ka = Object.keys(actual as object).sort();
    const ke = Object.keys(expected).sort();
    assert.deepEqual(ka, ke, `${path}: keys`);
    for (const k of ke) assertClose((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${path}.${k}`);
    return;
  }
  assert.deepEqual(actual, expected, `${path}: ${JSON.stringify(show(actual))} vs ${JSON.stringify(show(expected))}`);
}

export function show(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}n` : x)));
}

/** Engine rows (JSONCompact, 64-bit integers unquoted, parsed exactly). */
export async function engineRows(sql: string, settings?: EngineSettings): Promise<unknown[][]> {
  const text = await engineQuery(sql, {
    format: 'JSONCompact',
    settings: { output_format_json_quote_64bit_integers: 0, output_format_write_statistics: 0, ...settings },
  });
  return ((parseJsonExact(text) as { data: unknown[][] }).data ?? []).map((r) => r.map(norm));
}

export function blockRows(blocks: Block[], opts?: ValueOptions): unknown[][] {
  const out: unknown[][] = [];
  for (const b of blocks)
    for (let i = 0; i < b.rowCount; i++)
      out.push(b.columns.map((c) => norm(opts && 'withOptions' in c ? (c as { withOptions(o: ValueOptions): { get(i: number): unknown } }).withOptions(opts).get(i) : c.get(i))));
  return out;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    if (e instanceof ChwireError) return e.code;
    throw e;
  }
}

/** Whole decode == chunked decode; strict prefixes ask for more; mutations only raise ChwireErrors. */
export function checkStreaming(input: Uint8Array, options: { revision?: number } = {}, fuzz = 300): void {
  // A private copy: engine results are Buffers, whose slice() shares memory.
  const bytes = Uint8Array.from(input);
  const whole = decodeNative(bytes, options);
  const want = JSON.stringify(show(blockRows(whole)));
  for (const size of [1, 2, 3, 7, 64]) {
    const dec = new NativeStreamDecoder(options);
    const got: Block[] = [];
    for (let p = 0; p < bytes.length; p += size) got.push(...dec.push(bytes.subarray(p, p + size)));
    dec.end();
    assert.equal(JSON.stringify(show(blockRows(got))), want, `chunks of ${size}`);
  }
  // Strict prefixes (all of them for small inputs, a spread of them for large).
  const step = Math.max(1, Math.floor(bytes.length / 400));
  const fullBlocks = whole.map((b) => JSON.stringify(show(blockRows([b]))));
  for (let n = 1; n < bytes.length; n += step) {
    const prefix = bytes.slice(0, n);
    const code = codeOf(() => decodeNative(prefix, options));
    // A prefix that ends exactly between blocks is complete data.
    if (code === undefined) continue;
    assert.equal(code, 'CHWIRE_TRUNCATED', `prefix of ${n}/${bytes.length} bytes`);
    const dec = new NativeStreamDecoder(options);
    const got = dec.push(prefix);
    got.forEach((b, i) => assert.equal(JSON.stringify(show(blockRows([b]))), fullBlocks[i], `prefix ${n}: block ${i}`));
    assert.equal(codeOf(() => dec.end()), 'CHWIRE_TRUNCATED', `prefix ${n}: end()`);
  }
  // Mutation fuzzing: bit flips, truncation, inflated bytes.
  let seed = bytes.length * 7919 + 17;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return seed % n;
  };
  const t0 = Date.now();
  for (let k = 0; k < fuzz && bytes.length > 0; k++) {
    const m = bytes.slice(0, rnd(4) === 0 ? rnd(bytes.length) + 1 : bytes.length);
    const flips = 1 + rnd(3);
    for (let f = 0; f < flips && m.length; f++) {
      const at = rnd(m.length);
      if (rnd(3) === 0) m[at] = 0xff;
      else m[at]! ^= 1 << rnd(8);
    }
    const t = Date.now();
    try {
      const blocks = decodeNative(m, options);
      blockRows(blocks);
    } catch (e) {
      if (!(e instanceof ChwireError)) assert.fail(`mutation ${k}: ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}`);
    }
    assert.ok(Date.now() - t < 2000, `mutation ${k} took too long`);
  }
  assert.ok(Date.now() - t0 < 20000, 'fuzzing took too long');
}

export interface TypeCase {
  /** The SELECT producing the column(s). */
  sql: string;
  /** Column list for reading our bytes back, e.g. 'v Variant(String, UInt32)'. */
  structure: string;
  /** Plain JS values to encode per column (optional). */
  values?: Record<string, unknown[]>;
  settings?: EngineSettings;
  /** Skip the byte-identical re-encode check (e.g. when encoding picks another layout). */
  noIdentical?: boolean;
  fuzz?: number;
}

/** The full battery for one engine query. Returns the decoded rows. */
export async function checkCase(tc: TypeCase): Promise<unknown[][]> {
  const bytes = await engineNative(tc.sql, tc.settings);
  const blocks = decodeNative(bytes);
  const ours = blockRows(blocks);
  const expected = await engineRows(tc.sql, tc.settings);
  assertClose(ours, expected);
  // Re-encode: byte-identical, and read back identically by the engine.
  const again = encodeNative(blocks);
  if (!tc.noIdentical) assert.equal(Buffer.from(again).toString('hex'), Buffer.from(bytes).toString('hex'), 're-encode is byte-identical');
  const back = await engineReadNativeRows(again, tc.structure, tc.settings);
  assertClose(back, expected);
  // Encode from plain JS values.
  if (tc.values) {
    const names = Object.keys(tc.values);
    const types = parseStructure(tc.structure);
    const enc = encodeNative({ columns: names.map((n) => ({ name: n, type: types.get(n)!, values: tc.values![n]! })) });
    const read = await engineReadNativeRows(enc, tc.structure, tc.settings);
    assertClose(read, expected);
  }
  checkStreaming(bytes, {}, tc.fuzz ?? 200);
  return ours;
}

export async function engineReadNativeRows(bytes: Uint8Array, structure: string, settings?: EngineSettings): Promise<unknown[][]> {
  return withTempFile(bytes, (path) => engineRows(`SELECT * FROM file(${sqlString(path)}, 'Native', ${sqlString(structure)})`, settings));
}

/** 'a T, b U(x, y)' → Map(name → type). */
export function parseStructure(s: string): Map<string, string> {
  const out = new Map<string, string>();
  let depth = 0;
  let start = 0;
  const parts: string[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === "'") {
      i++;
      while (i < s.length && s[i] !== "'") i += s[i] === '\\' ? 2 : 1;
    } else if (ch === ',' && depth === 0) {
      parts.push(s.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(s.slice(start));
  for (const p of parts) {
    const t = p.trim();
    const sp = t.indexOf(' ');
    out.set(t.slice(0, sp).replace(/^`(.*)`$/, '$1'), t.slice(sp + 1).trim());
  }
  return out;
}

// Test helpers over chDB (npm `chdb`: ClickHouse 26.7 in-process), the modern reference engine.
//
//   if (!(await hasEngine())) return t.skip('chdb is not installed');
//   const bytes = await engineNative("SELECT 1::UInt64");              // Native bytes from 26.7
//   const { meta, data } = await engineJSON('SELECT ...');             // exact JSON values
//   const back = await engineReadNative(ourBytes, 'x UInt64, s String'); // 26.7 reads our Native
//
// Settings are appended to the query as a trailing `SETTINGS k=v, ...` clause, never with SET:
// chDB's module-level queries share one session, so a SET would leak into later queries. A
// second SETTINGS clause after one already in the SQL is accepted by 26.7. Do not end the SQL with
// FORMAT or `;` — each helper picks the format itself.
//
// chdb is an optional dependency and is loaded lazily: importing this file never fails.
// chDB runs module-level queries one at a time in-process; keep the helpers' uses simple.
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export type SettingValue = string | number | boolean;
/** Query settings; a null/undefined value removes a default setting. */
export type EngineSettings = Record<string, SettingValue | null | undefined>;

/**
 * Settings of every helper query: the experimental / suspicious types are allowed (all six exist in
 * 26.7.2.1), and the session time zone is UTC so that text ↔ DateTime conversions do not depend on
 * the machine's zone.
 */
export const ENGINE_DEFAULT_SETTINGS: Readonly<Record<string, SettingValue>> = Object.freeze({
  allow_experimental_variant_type: 1,
  allow_experimental_dynamic_type: 1,
  allow_experimental_json_type: 1,
  enable_time_time64_type: 1,
  allow_suspicious_low_cardinality_types: 1,
  allow_experimental_qbit_type: 1,
  session_timezone: 'UTC',
});

/**
 * Extra settings of engineJSON / engineReadNative, chosen so that every value is exact:
 * - output_format_json_quote_64bit_integers=1: (U)Int64/128/256 as strings;
 * - output_format_json_quote_decimals=1: Decimals as strings ("1.5", no float rounding);
 * - output_format_json_quote_denormals=1: nan / inf / -inf as strings instead of null;
 * - output_format_write_statistics=0: no timing block (deterministic output).
 * Kept at 26.7's defaults: output_format_decimal_trailing_zeros=0 (Decimal(9,2) 1.50 → "1.5"),
 * output_format_json_named_tuples_as_objects=1, output_format_json_quote_64bit_floats=0 (Float64
 * printed shortest round-trip, exact), and invalid UTF-8 passes through unvalidated (compare binary
 * strings with hex()).
 */
export const ENGINE_JSON_SETTINGS: Readonly<Record<string, SettingValue>> = Object.freeze({
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
  output_format_json_quote_denormals: 1,
  output_format_write_statistics: 0,
});

export interface ChdbResult {
  bytes(): Uint8Array;
  text(): string;
}
export interface ChdbModule {
  queryAsync(query: string, opts?: { format?: string }): Promise<ChdbResult>;
}

let loaded: Promise<ChdbModule | null> | undefined;

/** The chdb module, or null when it is not installed (it is an optional dependency). */
export function loadEngine(): Promise<ChdbModule | null> {
  const name = 'chdb'; // not a literal import: type-checks and loads without chdb installed
  loaded ??= import(name).then(
    (m: unknown) => {
      const mod = ((m as { queryAsync?: unknown }).queryAsync ? m : (m as { default?: unknown }).default) as ChdbModule;
      return typeof mod?.queryAsync === 'function' ? mod : null;
    },
    () => null,
  );
  return loaded;
}

/** True when chdb is installed and loads. */
export async function hasEngine(): Promise<boolean> {
  return (await loadEngine()) !== null;
}

async function engine(): Promise<ChdbModule> {
  const m = await loadEngine();
  if (!m) throw new Error('chdb is not installed (npm install chdb)');
  return m;
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

function settingLiteral(v: SettingValue): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') return String(v);
  return sqlString(v);
}

/** Merges settings over defaults (null/undefined removes) and renders ` SETTINGS a=1, b='x'` or ''. */
export function settingsClause(...layers: (EngineSettings | undefined)[]): string {
  const merged: Record<string, SettingValue> = {};
  for (const layer of layers) {
    for (const [k, v] of Object.entries(layer ?? {})) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`bad setting name ${JSON.stringify(k)}`);
      if (v === null || v === undefined) delete merged[k];
      else merged[k] = v;
    }
  }
  const parts = Object.entries(merged).map(([k, v]) => `${k} = ${settingLiteral(v)}`);
  return parts.length ? ` SETTINGS ${parts.join(', ')}` : '';
}

function stripEnd(sql: string): string {
  return sql.trim().replace(/;+\s*$/, '');
}

/** Native-format bytes of a query as made by ClickHouse 26.7 (a query without rows gives 0 bytes). */
export async function engineNative(sql: string, settings?: EngineSettings): Promise<Uint8Array> {
  const m = await engine();
  const r = await m.queryAsync(stripEnd(sql) + settingsClause(ENGINE_DEFAULT_SETTINGS, settings), { format: 'Native' });
  return r.bytes();
}

export interface EngineJSONResult<Row = Record<string, unknown>> {
  meta: { name: string; type: string }[];
  data: Row[];
  rows: number;
}

/** A query's result in FORMAT JSON (rows as objects), with ENGINE_JSON_SETTINGS for exact values. */
export async function engineJSON<Row = Record<string, unknown>>(
  sql: string,
  settings?: EngineSettings,
): Promise<EngineJSONResult<Row>> {
  const m = await engine();
  const r = await m.queryAsync(
    stripEnd(sql) + settingsClause(ENGINE_DEFAULT_SETTINGS, ENGINE_JSON_SETTINGS, settings),
    { format: 'JSON' },
  );
  const parsed = JSON.parse(r.text()) as EngineJSONResult<Row>;
  return { meta: parsed.meta, data: parsed.data, rows: parsed.rows };
}

let tmpDir: string | undefined;
let tmpSeq = 0;

function engineTmpDir(): string {
  if (!tmpDir) {
    const dir = mkdtempSync(join(tmpdir(), 'chwire-engine-'));
    tmpDir = dir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return tmpDir;
}

/**
 * Writes bytes to a fresh temp file, runs fn with its absolute path, then deletes the file. This is
 * how binary data gets into chDB (its inline-data path cuts payloads at the first NUL byte), e.g.
 * `INSERT INTO t SELECT * FROM file(path, 'Native', 'x UInt64')`.
 */
export async function withTempFile<T>(bytes: Uint8Array, fn: (path: string) => Promise<T>, ext = 'native'): Promise<T> {
  const path = join(engineTmpDir(), `${process.pid}-${++tmpSeq}.${ext}`);
  await writeFile(path, bytes);
  try {
    return await fn(path);
  } finally {
    await unlink(path).catch(() => {});
  }
}

/**
 * Has ClickHouse 26.7 read Native bytes (e.g. made by our encoder): runs
 * `SELECT <selectExpr> FROM file('<tmp>', 'Native', '<structure>')` in FORMAT JSON with the same
 * settings as engineJSON. `structure` is the column list, e.g. "x UInt64, t DateTime('UTC')" —
 * given explicitly because schema inference drops DateTime time zones.
 */
export async function engineReadNative<Row = Record<string, unknown>>(
  bytes: Uint8Array,
  structure: string,
  selectExpr = '*',
  settings?: EngineSettings,
): Promise<EngineJSONResult<Row>> {
  return withTempFile(bytes, (path) =>
    engineJSON<Row>(`SELECT ${selectExpr} FROM file(${sqlString(path)}, 'Native', ${sqlString(structure)})`, settings),
  );
}

export interface EngineQueryOptions {
  /** Output format; default TabSeparated. */
  format?: string;
  /** Extra settings; when given, a SETTINGS clause (defaults + these) is appended whatever the statement. */
  settings?: EngineSettings;
}

/**
 * Runs any statement and returns the output as text. For SELECT / WITH statements the default
 * settings (ENGINE_DEFAULT_SETTINGS) are appended; other statements run verbatim unless
 * opts.settings is given (a trailing SETTINGS clause means something else in e.g. CREATE TABLE).
 */
export async function engineQuery(sql: string, opts: EngineQueryOptions = {}): Promise<string> {
  const m = await engine();
  let q = stripEnd(sql);
  if (opts.settings || /^\s*(\(\s*)*(select|with)\b/i.test(q)) q += settingsClause(ENGINE_DEFAULT_SETTINGS, opts.settings);
  const r = await m.queryAsync(q, { format: opts.format ?? 'TabSeparated' });
  return r.text();
}

// The `chwire` command: queries, inserts and an interactive prompt over any
// chwire transport (native TCP, or the embedded engine when no url is given).
import { createReadStream, readFileSync, appendFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createClient, parseEndpoint, type ClickHouseClient } from '../client/client.js';
import { AbortError, ClickHouseError } from '../client/errors.js';
import type { ResultSet } from '../client/result-set.js';
import type { ClientOptions, Progress, Settings } from '../client/types.js';
import { ChwireError } from '../core/errors.js';
import { NativeStreamDecoder } from '../core/native/reader.js';
import { encodeNative } from '../core/native/writer.js';
import { parseArgs, USAGE, type CliArgs } from './args.js';
import { blockCsv, blockTableRows, blockTsv, jsonRows, jsonString, outputFormat, renderTable, type OutputFormat } from './format.js';
import { csvRecords, inputFormat, lines, nullAsDefault, parseJsonExact, rowReader, typeDefault, type CsvField } from './input.js';
import { ProgressLine } from './progress.js';
import { firstKeyword, isOnlyComments, splitStatements, statementKind, trailingFormat } from './sql.js';

const PRETTY_MAX_ROWS = 10_000;

class UsageError extends ChwireError {
  constructor(message: string) {
    super('CHWIRE_USAGE', message);
  }
}

/** Input data that does not fit the table (exit status 1, like a server error). */
class InputError extends ChwireError {
  constructor(message: string) {
    super('CHWIRE_BAD_INPUT', message);
  }
}

// ---------------------------------------------------------------- output

let stdoutBroken = false;

function write(s: string | Uint8Array): Promise<void> {
  if (stdoutBroken) return Promise.resolve();
  return new Promise((resolve) => {
    if (process.stdout.write(s)) resolve();
    else process.stdout.once('drain', resolve);
  });
}

async function writeResult(rs: ResultSet, format: OutputFormat): Promise<number> {
  let rows = 0;
  switch (format) {
    case 'TSV':
      for await (const b of rs) {
        rows += b.rowCount;
        await write(blockTsv(b));
      }
      break;
    case 'CSV':
      for await (const b of rs) {
        rows += b.rowCount;
        await write(blockCsv(b));
      }
      break;
    case 'JSONEachRow':
      for await (const b of rs) {
        rows += b.rowCount;
        await write(jsonRows(b).join('\n') + '\n');
      }
      break;
    case 'Native':
      for await (const b of rs) {
        rows += b.rowCount;
        await write(encodeNative(b));
      }
      break;
    case 'JSON': {
      let started = false;
      const head = () => {
        const meta = rs.meta.map((m) => `\t\t{\n\t\t\t"name": ${jsonString(m.name)},\n\t\t\t"type": ${jsonString(m.type)}\n\t\t}`).join(',\n');
        return `{\n\t"meta":\n\t[\n${meta}\n\t],\n\n\t"data":\n\t[\n`;
      };
      for await (const b of rs) {
        const r = jsonRows(b).map((x) => `\t\t${x}`);
        await write((started ? ',\n' : head()) + r.join(',\n'));
        started = true;
        rows += b.rowCount;
      }
      const p = rs.summary.progress;
      const elapsed = p.elapsedNs ? p.elapsedNs / 1e9 : rs.summary.elapsedMs / 1000;
      await write(
        `${started ? '\n' : head()}\t],\n\n\t"rows": ${rows},\n\n\t"statistics":\n\t{\n\t\t"elapsed": ${elapsed},\n\t\t"rows_read": ${p.rows},\n\t\t"bytes_read": ${p.bytes}\n\t}\n}\n`,
      );
      break;
    }
    case 'Pretty': {
      let shown = 0;
      for await (const b of rs) {
        rows += b.rowCount;
        if (shown >= PRETTY_MAX_ROWS) continue;
        const r = blockTableRows(b, PRETTY_MAX_ROWS - shown);
        shown += r.length;
        await write(renderTable(b.columns.map((c) => c.name), b.columns.map((c) => c.type), r));
      }
      if (rows > shown) await write(`  Showed first ${shown} of ${rows} rows.\n`);
      break;
    }
  }
  return rows;
}

// ---------------------------------------------------------------- running statements

interface Ctx {
  args: CliArgs;
  client: ClickHouseClient;
  progress: boolean;
  /** The running request's controller (Ctrl-C aborts it). */
  current?: AbortController;
  interactive: boolean;
  /** Over HTTP (no row count from 18.16). */
  http: boolean;
}

function settings(args: CliArgs): Settings | undefined {
  return Object.keys(args.settings).length ? args.settings : undefined;
}

function defaultFormat(): OutputFormat {
  return process.stdout.isTTY ? 'Pretty' : 'TSV';
}

async function runStatement(ctx: Ctx, statement: string): Promise<void> {
  const { args, client } = ctx;
  const tf = trailingFormat(statement);
  let format = args.format ? outputFormat(args.format) : undefined;
  if (args.format && !format) throw new UsageError(`unknown --format ${args.format} (TSV, CSV, JSONEachRow, JSON, Native, Pretty)`);
  if (tf.format) {
    format = outputFormat(tf.format);
    if (!format) throw new UsageError(`FORMAT ${tf.format} is not supported by chwire (TSV, CSV, JSONEachRow, JSON, Native, Pretty)`);
  }
  format ??= defaultFormat();
  const ac = new AbortController();
  ctx.current = ac;
  const line = ctx.progress ? new ProgressLine(process.stderr) : undefined;
  const started = Date.now();
  try {
    const base = {
      query: tf.sql,
      abort_signal: ac.signal,
      ...(Object.keys(args.params).length ? { query_params: args.params } : {}),
      ...(settings(args) ? { clickhouse_settings: settings(args)! } : {}),
      ...(args.queryId ? { query_id: args.queryId } : {}),
    };
    line?.start();
    const kind = statementKind(tf.sql);
    const ok = () => {
      if (ctx.interactive) process.stderr.write(`\nOk. Elapsed: ${((Date.now() - started) / 1000).toFixed(3)} sec.\n\n`);
    };
    if (kind === 'command') {
      await client.command(base);
      line?.stop();
      ok();
      return;
    }
    const rs = await client.query({ ...base, on_progress: (p: Progress) => line?.add(p) });
    const it = rs[Symbol.asyncIterator]();
    let head = await it.next();
    if (kind === 'unknown' && rs.meta.length === 0) {
      // A statement of unknown kind that returned no columns (DDL and the like).
      while (!head.done) head = await it.next();
      line?.stop();
      ok();
      return;
    }
    // Replay the block already read; clear the progress line before the first output.
    (rs as { [Symbol.asyncIterator]: () => AsyncIterator<unknown> })[Symbol.asyncIterator] = async function* () {
      line?.stop();
      if (head.done) return;
      yield head.value;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    } as never;
    const rows = await writeResult(rs, format);
    line?.stop();
    if (ctx.interactive) process.stderr.write(`\n${rows} row${rows === 1 ? '' : 's'} in set. Elapsed: ${((Date.now() - started) / 1000).toFixed(3)} sec.\n\n`);
  } finally {
    line?.stop();
    ctx.current = undefined;
  }
}

async function runText(ctx: Ctx, text: string): Promise<void> {
  const { statements, rest } = splitStatements(text);
  if (rest.trim() && !isOnlyComments(rest)) statements.push(rest.trim());
  for (const s of statements) await runStatement(ctx, s);
}

// ---------------------------------------------------------------- insert

interface InsertColumn {
  name: string;
  type: string;
  /** DEFAULT / EPHEMERAL expression (not MATERIALIZED / ALIAS: those are not inserted). */
  defaultExpr?: string;
}

async function insertHeader(client: ClickHouseClient, table: string): Promise<InsertColumn[]> {
  const rs = await client.query({ query: `DESCRIBE TABLE ${/^[\w.]+$|[`"]/.test(table) ? table : `\`${table.replace(/`/g, '\\`')}\``}` });
  const rows = (await rs.json()) as Record<string, unknown>[];
  return rows
    .filter((r) => r.default_type !== 'MATERIALIZED' && r.default_type !== 'ALIAS')
    .map((r) => {
      const c: InsertColumn = { name: String(r.name), type: String(r.type) };
      const expr = String(r.default_expression ?? '');
      // An EPHEMERAL column without its own default shows defaultValueOfTypeName('T').
      if (r.default_type && expr && !/^defaultValueOfTypeName\(/.test(expr)) c.defaultExpr = expr;
      return c;
    });
}

/**
 * For a JSONEachRow key the row omits: the type's default value, as ClickHouse fills it. A column
 * with a DEFAULT expression is an error: the server (19.x+) would evaluate it, chwire cannot.
 */
function omittedFiller(c: InsertColumn): (row: number) => unknown {
  const d = c.defaultExpr === undefined ? typeDefault(c.type) : undefined;
  if (d) return () => structuredClone(d.value);
  const why =
    c.defaultExpr !== undefined
      ? `it has DEFAULT ${c.defaultExpr}, which chwire cannot evaluate`
      : `chwire does not know the default value of ${c.type}`;
  return (row) => {
    throw new InputError(`JSONEachRow row ${row} omits column ${c.name} (${c.type}): ${why}; give the value in every row`);
  };
}

async function runInsert(ctx: Ctx, table: string, input: AsyncIterable<Uint8Array>): Promise<void> {
  const { args, client } = ctx;
  const fmt = inputFormat(args.format ?? 'TSV');
  if (!fmt) throw new UsageError(`unknown insert --format ${args.format} (TSV, TSVWithNames, CSV, CSVWithNames, JSONEachRow, Native)`);
  const ac = new AbortController();
  ctx.current = ac;
  const line = ctx.progress ? new ProgressLine(process.stderr) : undefined;
  const common = {
    table,
    abort_signal: ac.signal,
    ...(settings(args) ? { clickhouse_settings: settings(args)! } : {}),
    ...(args.queryId ? { query_id: args.queryId } : {}),
  };
  const started = Date.now();
  let parsed = 0;
  let sent = 0;
  try {
    line?.start();
    let summary;
    if (fmt === 'Native') {
      let source = input;
      if (ctx.http) {
        // HTTP tells the rows written only in X-ClickHouse-Summary (18.16 sends none): count the rows sent.
        const dec = new NativeStreamDecoder();
        source = (async function* () {
          for await (const chunk of input) {
            for (const b of dec.push(chunk)) sent += b.rowCount;
            yield chunk;
          }
          dec.end();
        })();
      }
      summary = await client.insert({ ...common, native: source });
      if (ctx.http) summary.rows = sent;
    } else {
      let header = await insertHeader(client, table);
      const kind = fmt.startsWith('CSV') ? 'CSV' : 'TSV';
      let records: AsyncIterator<unknown[]>;
      if (fmt === 'JSONEachRow') {
        records = (async function* () {
          for await (const l of lines(input)) if (l.trim()) yield [parseJsonExact(l)];
        })();
      } else if (kind === 'CSV') {
        records = (async function* () {
          for await (const r of csvRecords(input)) yield r;
        })();
      } else {
        records = (async function* () {
          for await (const l of lines(input)) if (l !== '') yield l.split('\t').map((text) => ({ text, quoted: false }));
        })();
      }
      if (fmt.endsWith('WithNames')) {
        const first = await records.next();
        if (!first.done) {
          const names = (first.value as { text: string }[]).map((f) => (kind === 'TSV' ? f.text.replace(/\\(.)/g, '$1') : f.text));
          header = names.map((n) => {
            const h = header.find((x) => x.name === n);
            if (!h) throw new InputError(`column ${n} (from the header line) is not in table ${table}`);
            return h;
          });
        }
      }
      const reader = rowReader(header, kind);
      const names = header.map((h) => h.name);
      const jsonDefaults = header.map((h) => nullAsDefault(h.type));
      const omitted = header.map(omittedFiller);
      const rows = (async function* () {
        for (;;) {
          const r = await records.next();
          if (r.done) return;
          parsed++;
          line?.add({ rows: 1, bytes: 0, totalRows: 0, totalBytes: 0, writtenRows: 1, writtenBytes: 0, elapsedNs: 0 });
          if (fmt === 'JSONEachRow') {
            const o = r.value[0] as Record<string, unknown>;
            if (!o || typeof o !== 'object' || Array.isArray(o)) throw new InputError(`JSONEachRow line ${parsed} is not an object`);
            names.forEach((n, j) => {
              o[n] = Object.hasOwn(o, n) ? jsonDefaults[j]!(o[n]) : omitted[j]!(parsed);
            });
            yield o;
            continue;
          }
          let row: unknown[];
          try {
            row = reader.read(r.value as CsvField[], parsed);
          } catch (e) {
            throw new InputError(e instanceof Error ? e.message : String(e));
          }
          yield row;
        }
      })();
      summary = await client.insert({ ...common, values: rows, columns: names });
    }
    line?.stop();
    const s = (Date.now() - started) / 1000;
    process.stderr.write(`chwire: inserted ${summary.rows} row${summary.rows === 1 ? '' : 's'} into ${table} in ${s.toFixed(3)} s\n`);
  } finally {
    line?.stop();
    ctx.current = undefined;
  }
}

// ---------------------------------------------------------------- interactive

async function repl(ctx: Ctx): Promise<void> {
  const histFile = process.env.CHWIRE_HISTORY ?? join(homedir(), '.chwire_history');
  let history: string[] = [];
  try {
    if (existsSync(histFile)) history = readFileSync(histFile, 'utf8').split('\n').filter(Boolean).reverse().slice(0, 1000);
  } catch {
    /* no history */
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true, history, historySize: 1000, prompt: 'chwire :) ' });
  let buffer = '';
  let running = false;
  rl.on('SIGINT', () => {
    if (running && ctx.current) {
      ctx.current.abort();
      return;
    }
    buffer = '';
    process.stdout.write('^C\n');
    rl.setPrompt('chwire :) ');
    rl.prompt();
  });
  rl.prompt();
  for await (const l of rl) {
    if (!buffer && /^\s*(exit|quit|q|logout|\\q)\s*;?\s*$/i.test(l)) break;
    buffer += (buffer ? '\n' : '') + l;
    const { statements, rest } = splitStatements(buffer);
    if (statements.length === 0 && buffer.trim() !== '') {
      rl.setPrompt(':-] ');
      rl.prompt();
      continue;
    }
    buffer = rest.trim() ? rest : '';
    for (const s of statements) {
      try {
        appendFileSync(histFile, s.replace(/\n/g, ' ') + ';\n');
      } catch {
        /* read-only home */
      }
      running = true;
      try {
        await runStatement(ctx, s);
      } catch (e) {
        if (e instanceof AbortError) process.stderr.write('Query was cancelled.\n\n');
        else reportError(e, ctx.args.verbose);
      } finally {
        running = false;
      }
    }
    rl.setPrompt(buffer ? ':-] ' : 'chwire :) ');
    rl.prompt();
  }
  rl.close();
  process.stdout.write('Bye.\n');
}

// ---------------------------------------------------------------- errors, passwords, main

function reportError(e: unknown, verbose: boolean): void {
  if (e instanceof ClickHouseError) {
    const msg = e.message.startsWith(e.type) ? e.message : `${e.type}: ${e.message}`;
    process.stderr.write(`Code: ${e.code}. ${msg}\n`);
  } else if (e instanceof ChwireError) process.stderr.write(`chwire: ${e.message} (${e.code})\n`);
  else process.stderr.write(`chwire: ${e instanceof Error ? e.message : String(e)}\n`);
  if (verbose && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  if (verbose && e instanceof ClickHouseError && e.serverStackTrace) process.stderr.write(`Server stack trace:\n${e.serverStackTrace}\n`);
}

/** stdin as chunks; the password prompt may take its first line, the rest stays for the SQL or the data. */
let stdinSource: AsyncIterable<Uint8Array> = process.stdin as AsyncIterable<Uint8Array>;

/** The first line of a non-terminal stdin (a password); later reads of stdinSource get what follows. */
async function firstStdinLine(): Promise<string> {
  const it = (process.stdin as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  let buf = Buffer.alloc(0);
  let line: string | undefined;
  while (line === undefined) {
    const r = await it.next();
    if (r.done) {
      line = buf.toString('utf8');
      buf = Buffer.alloc(0);
      break;
    }
    buf = Buffer.concat([buf, r.value]);
    const nl = buf.indexOf(10);
    if (nl >= 0) {
      line = buf.subarray(0, nl).toString('utf8').replace(/\r$/, '');
      buf = buf.subarray(nl + 1);
    }
  }
  const rest = buf;
  // Not a for-await over `it`: leaving one early would destroy stdin.
  stdinSource = {
    [Symbol.asyncIterator]: async function* () {
      if (rest.length) yield rest;
      for (;;) {
        const r = await it.next();
        if (r.done) return;
        yield r.value;
      }
    },
  };
  return line;
}

async function askPassword(): Promise<string> {
  if (!process.stdin.isTTY) return firstStdinLine();
  process.stderr.write('Password: ');
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.resume();
  let pw = '';
  return new Promise((resolve, reject) => {
    const onData = (b: Buffer) => {
      for (const ch of b.toString('utf8')) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          process.stderr.write('\n');
          resolve(pw);
          return;
        }
        if (ch === '\x03') {
          stdin.setRawMode(false);
          reject(new AbortError('password prompt cancelled'));
          return;
        }
        if (ch === '\x7f' || ch === '\b') pw = pw.slice(0, -1);
        else pw += ch;
      }
    };
    stdin.on('data', onData);
  });
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function readAll(stream: AsyncIterable<Uint8Array | string>): Promise<string> {
  let s = '';
  const dec = new TextDecoder();
  for await (const c of stream) s += typeof c === 'string' ? c : dec.decode(c, { stream: true });
  return s + dec.decode();
}

/** Exit with `code`. After an interrupted embedded query the engine thread may still run: die by SIGINT then. */
function exitNow(code: number, embedded: boolean): never {
  if (code === 130 && embedded) {
    process.removeAllListeners('SIGINT');
    process.kill(process.pid, 'SIGINT');
  }
  process.exit(code);
}

/** A URL with its password replaced by ***. */
function hidePassword(url: string): string {
  const m = /^([a-z][\w+.-]*:\/\/[^/@:]*:)(.*)@/i.exec(url);
  return m ? `${m[1]}***@${url.slice(m[0].length)}` : url;
}

export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'serve') {
    // `chwire serve …`: a native-protocol server over the embedded engine.
    const { serveMain } = await import('../server/cli.js');
    return serveMain(argv.slice(1));
  }
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    reportError(e, false);
    return 2;
  }
  if (args.command === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (args.command === 'version') {
    process.stdout.write(`chwire ${packageVersion()}\n`);
    return 0;
  }
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') {
      stdoutBroken = true;
      process.exit(0);
    }
  });

  const url = args.url ?? process.env.CLICKHOUSE_URL ?? '';
  try {
    parseEndpoint(url || 'chdb:');
  } catch (e) {
    const what = args.url !== undefined ? '--url' : '$CLICKHOUSE_URL';
    const why = e instanceof URIError ? "a '%' not followed by two hex digits (write %25 for a literal %)" : e instanceof Error ? e.message : String(e);
    reportError(new UsageError(`${what} ${hidePassword(url)} is malformed: ${why}`), false);
    return 2;
  }
  const embedded = url === '' || /^chdb:/i.test(url);
  if (url === '') process.stderr.write('chwire: no --url or CLICKHOUSE_URL given: using the embedded ClickHouse engine (chdb:)\n');
  const options: ClientOptions = { url: url || 'chdb:', dates: 'string', decimal: 'string', int64: 'bigint' };
  if (args.user) options.username = args.user;
  if (args.password !== undefined) options.password = args.password;
  if (args.database) options.database = args.database;
  if (args.compression) options.compression = args.compression;
  if (args.batchRows) options.insert_batch_rows = args.batchRows;

  const interactive = args.command === 'query' && args.queries.length === 0 && !args.file && !!process.stdin.isTTY;
  const ctx: Ctx = { args, client: undefined as unknown as ClickHouseClient, progress: args.progress ?? !!process.stderr.isTTY, interactive, http: /^https?:/i.test(url) };
  let interrupted = false;
  const onSigint = () => {
    if (interactive) return; // readline handles it
    if (interrupted || !ctx.current) exitNow(130, embedded);
    interrupted = true;
    ctx.current.abort();
  };
  process.on('SIGINT', onSigint);

  let code = 0;
  try {
    if (args.askPassword) options.password = await askPassword();
    ctx.client = createClient(options);
    if (args.command === 'insert') {
      const input = args.file && args.file !== '-' ? createReadStream(args.file) : stdinSource;
      await runInsert(ctx, args.table!, input as AsyncIterable<Uint8Array>);
    } else if (interactive) {
      await repl(ctx);
    } else {
      let text = args.queries.join(';\n');
      if (args.file) text += (text ? ';\n' : '') + (args.file === '-' ? await readAll(stdinSource) : readFileSync(args.file, 'utf8'));
      else if (!args.queries.length) text = await readAll(stdinSource);
      if (!text.trim()) throw new UsageError('no query given (chwire "SELECT 1", --file x.sql, or SQL on stdin; --help for more)');
      if (firstKeyword(text) === '' && !text.trim()) return 0;
      await runText(ctx, text);
    }
  } catch (e) {
    if (e instanceof AbortError && interrupted) {
      process.stderr.write('Query was cancelled.\n');
      code = 130;
    } else {
      reportError(e, args.verbose);
      code = e instanceof UsageError ? 2 : 1;
    }
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (code === 130) {
    await new Promise<void>((r) => process.stdout.write('', () => r()));
    exitNow(130, embedded);
  }
  await Promise.race([ctx.client?.close(), new Promise((r) => setTimeout(r, 2000).unref())]).catch(() => {});
  return code;
}

const isMain = (() => {
  const entry = process.argv[1] ?? '';
  return /[\\/]cli[\\/]main\.(ts|js)$/.test(entry);
})();

if (isMain) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      reportError(e, true);
      process.exitCode = 1;
    },
  );
}

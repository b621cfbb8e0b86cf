// The `chwire` command, driven as a user would: a spawned process (tsx on src/cli/main.ts,
// and bin/chwire.js when dist/ is built).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineQuery, hasEngine } from './helpers/engine.js';
import { repoRoot, testServer } from './helpers/server.js';

const has = await hasEngine();
const skip = has ? false : 'chdb is not installed';
const MAIN = join(repoRoot, 'src', 'cli', 'main.ts');
const work = mkdtempSync(join(tmpdir(), 'chwire-cli-'));
process.once('exit', () => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  out: Buffer;
}

function chwire(args: string[], input?: string | Uint8Array, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
      cwd: repoRoot,
      env: { ...process.env, CLICKHOUSE_URL: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    c.stdout.on('data', (b: Buffer) => out.push(b));
    c.stderr.on('data', (b: Buffer) => err.push(b));
    c.on('error', reject);
    c.on('close', (code, signal) => {
      const o = Buffer.concat(out);
      resolve({ code, signal, stdout: o.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), out: o });
    });
    c.stdin.on('error', () => {});
    c.stdin.end(input ?? '');
  });
}

const TYPES_SQL =
  "SELECT number AS n, toInt64(number) - 5 AS i, toFloat64(number) / 3 AS f, toFloat32(0.1) AS f32, 1e21 AS big, toDecimal64(number, 3) AS dec, " +
  "concat('a\\'b\\\\c\\td\"e/', toString(number)) AS s, toFixedString('ab', 3) AS fs, toDate('2024-02-29') + number AS d, " +
  "toDateTime('2020-01-02 03:04:05', 'UTC') AS dt, toDateTime64('2020-01-02 03:04:05.123', 3, 'UTC') AS dt64, toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0') AS u, " +
  "toIPv4('1.2.3.4') AS ip, CAST('y' AS Enum8('x' = 1, 'y' = 2)) AS e, if(number = 1, NULL, number) AS nn, [number, NULL] AS arr, ['q\\'', 'r'] AS sarr, " +
  "map('k', toFloat64(number)) AS m, tuple(number, 'x') AS t, CAST((1, 'z') AS Tuple(a UInt8, b String)) AS nt, number % 2 = 0 AS b, inf AS pinf, nan AS pnan, toInt128(-7) AS i128 " +
  'FROM numbers(3)';

test('cli: TSV, CSV and JSONEachRow output match the engine\'s own text formats', { skip }, async () => {
  for (const format of ['TSV', 'CSV', 'JSONEachRow']) {
    const r = await chwire(['--format', format, TYPES_SQL]);
    assert.equal(r.code, 0, r.stderr);
    const want = await engineQuery(TYPES_SQL, { format, settings: { session_timezone: null } });
    assert.equal(r.stdout, want, format);
  }
  // TSV is the default when stdout is not a terminal; a trailing FORMAT clause selects the format
  const d = await chwire(['SELECT 1 AS x, \'y\' AS s']);
  assert.equal(d.stdout, '1\ty\n');
  assert.match(d.stderr, /embedded ClickHouse engine/);
  const f = await chwire(['SELECT 1 AS x FORMAT CSV']);
  assert.equal(f.stdout, '1\n');
  // … also when a comment or `;` follows it; a FORMAT inside a string is not a clause.
  const g = await chwire(['SELECT 1 AS x, 2 AS y FORMAT JSONEachRow -- rows as JSON']);
  assert.equal(g.stdout, '{"x":1,"y":2}\n', g.stderr);
  const h = await chwire(["SELECT 'a FORMAT CSV' AS s;"]);
  assert.equal(h.stdout, 'a FORMAT CSV\n', h.stderr);
});

test('cli: JSON, Native and the table layout', { skip }, async () => {
  const j = await chwire(['--format', 'JSON', 'SELECT number AS n, toString(number) AS s FROM numbers(2)']);
  const parsed = JSON.parse(j.stdout) as { meta: unknown; data: unknown; rows: number };
  assert.deepEqual(parsed.meta, [{ name: 'n', type: 'UInt64' }, { name: 's', type: 'String' }]);
  assert.deepEqual(parsed.data, [{ n: 0, s: '0' }, { n: 1, s: '1' }]);
  assert.equal(parsed.rows, 2);
  const n = await chwire(['--format', 'Native', 'SELECT number AS n FROM numbers(3)']);
  const { decodeNative } = await import('../src/core/native/reader.js');
  const [b] = decodeNative(new Uint8Array(n.out));
  assert.deepEqual(Array.from(b!.columns[0]!.toArray() as ArrayLike<bigint>), [0n, 1n, 2n]);
  const p = await chwire(['--format', 'Pretty', "SELECT number AS n, repeat('x', number) AS text, NULL AS z FROM numbers(3)"]);
  assert.equal(
    p.stdout,
    ['┌─n─┬─text─┬─z────┐', '│ 0 │      │ ᴺᵁᴸᴸ │', '│ 1 │ x    │ ᴺᵁᴸᴸ │', '│ 2 │ xx   │ ᴺᵁᴸᴸ │', '└───┴──────┴──────┘', ''].join('\n'),
  );
  const w = await chwire(['--format', 'Pretty', 'SELECT 1234567 AS wide_number_column']);
  assert.equal(w.stdout, ['┌─wide_number_column─┐', '│            1234567 │', '└────────────────────┘', ''].join('\n'));
});

test('cli: params, settings, several statements from --file and stdin', { skip }, async () => {
  const r = await chwire(['--param', 'x=41', '--param_s=it\'s', 'SELECT {x:UInt8} + 1 AS y, {s:String} AS s']);
  assert.equal(r.stdout, "42\tit\\'s\n", r.stderr);
  const s = await chwire(['--setting', 'max_result_rows=1', '--setting', 'result_overflow_mode=throw', 'SELECT number FROM numbers(10)']);
  assert.equal(s.code, 1);
  assert.match(s.stderr, /^Code: 396\. DB::Exception: .*TOO_MANY_ROWS_OR_BYTES/m);
  const file = join(work, 'many.sql');
  writeFileSync(file, "-- comment\nSELECT 1;\nSELECT 'a;b' AS s; /* ; */\nSELECT 3\n");
  const f = await chwire(['--file', file]);
  assert.equal(f.stdout, '1\na;b\n3\n', f.stderr);
  const i = await chwire([], 'SELECT 1;\nSELECT 2;\n');
  assert.equal(i.stdout, '1\n2\n');
});

test('cli: errors print the code and message, non-zero exit, stack only with --verbose', { skip }, async () => {
  const r = await chwire(['SELECT * FROM no_such_table_cli']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)$/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const v = await chwire(['--verbose', 'SELECT * FROM no_such_table_cli']);
  assert.match(v.stderr, /\n\s+at /);
  const u = await chwire(['--bogus-option']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /unknown option --bogus-option/);
  const h = await chwire(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /chwire insert TABLE/);
});

test('cli: insert from TSV, CSV, CSVWithNames, JSONEachRow and Native files', { skip }, async () => {
  const url = `chdb:${join(work, 'db')}`;
  const cols = "id UInt32, s String, d DateTime('UTC'), a Array(Nullable(Int32)), m Map(String, Float64), f Float32, n Nullable(Decimal(9, 2))";
  const run = (args: string[], input?: string | Uint8Array) => chwire(['--url', url, ...args], input);
  const src = `SELECT * FROM values('${cols.replace(/'/g, "\\'")}', (1, 'a\\tb\\'c', '2020-01-02 03:04:05', [1, NULL], map('k', 1.5), 0.1, 1.5), (2, 'x,"y"', '2021-01-01 00:00:00', [], map(), -2.5, NULL))`;
  let r = await run([`CREATE TABLE src ENGINE = MergeTree ORDER BY id AS ${src}`]);
  assert.equal(r.code, 0, r.stderr);
  const expected = (await run(['SELECT * FROM src ORDER BY id'])).stdout;
  assert.match(expected, /^1\ta\\tb\\'c\t/);
  for (const format of ['TSV', 'CSV', 'CSVWithNames', 'JSONEachRow', 'Native']) {
    const data = (await run(['--format', format === 'CSVWithNames' ? 'CSV' : format, 'SELECT * FROM src ORDER BY id'])).out;
    const input = format === 'CSVWithNames' ? Buffer.concat([Buffer.from('"id","s","d","a","m","f","n"\n'), data]) : data;
    r = await run([`CREATE TABLE dst_${format} (${cols}) ENGINE = MergeTree ORDER BY id`]);
    assert.equal(r.code, 0, r.stderr);
    r = await run(['insert', `dst_${format}`, '--format', format], input);
    assert.equal(r.code, 0, `${format}: ${r.stderr}`);
    assert.match(r.stderr, new RegExp(`inserted 2 rows into dst_${format}`));
    const back = await run([`SELECT * FROM dst_${format} ORDER BY id`]);
    assert.equal(back.stdout, expected, format);
  }
  // a malformed row: an error naming the row, exit 1
  r = await run(['insert', 'dst_TSV'], '1\tonly two fields\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /row 1 has 2 fields/);
});

function scriptAvailable(): boolean {
  return spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
}

test('cli: a progress line on stderr when it is a terminal (pseudo-terminal via script)', { skip: skip || (scriptAvailable() ? false : 'script(1) is not installed') }, async () => {
  const cmd = `${process.execPath} --import tsx ${MAIN} --format TSV "SELECT sleep(0.6) AS z"`;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot, env: { ...process.env, CLICKHOUSE_URL: '' }, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /↻ Progress: .*rows.*s/);
  assert.match(r.stdout, /\r\x1b\[K0\r?\n/); // the line is erased before the result
  // …and nothing of the kind when stderr is not a terminal
  const p = await chwire(['SELECT sleep(0.3)']);
  assert.doesNotMatch(p.stderr, /Progress/);
});

async function interrupt(args: string[], afterMs: number): Promise<Run & { ms: number }> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: repoRoot, env: { ...process.env, CLICKHOUSE_URL: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    let sent = 0;
    c.stdout.on('data', (b: Buffer) => (stdout += b));
    c.stderr.on('data', (b: Buffer) => (stderr += b));
    c.on('error', reject);
    setTimeout(() => {
      sent = Date.now();
      c.kill('SIGINT');
    }, afterMs);
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, out: Buffer.from(stdout), ms: Date.now() - sent }));
  });
}

test('cli: Ctrl-C cancels a long query on the embedded engine (exit 130)', { skip }, async () => {
  const r = await interrupt(['SELECT count() FROM numbers(100000000000) WHERE cityHash64(number) = 0'], 2500);
  // 130 = interrupted (after an in-process engine query the process re-raises SIGINT: the shell sees 130 too)
  assert.ok(r.code === 130 || r.signal === 'SIGINT', `code ${r.code} signal ${r.signal}: ${r.stderr}`);
  assert.ok(r.ms < 3000, `exit took ${r.ms} ms`);
  assert.match(r.stderr, /Query was cancelled/);
  assert.equal(r.stdout, '');
});

test('cli: Ctrl-C cancels a long query on the real server (exit 130)', async (t) => {
  if (!existsSync(join(repoRoot, 'src', 'transport', 'tcp.ts'))) return t.skip('the TCP transport (src/transport/tcp.ts) does not exist yet');
  const srv = await testServer();
  if (!srv) return t.skip('no ClickHouse test server');
  const url = `clickhouse://${srv.host}:${srv.tcpPort}`;
  const r = await interrupt(['--url', url, 'SELECT count() FROM system.numbers WHERE cityHash64(number) = 0'], 2500);
  assert.equal(r.code, 130, r.stderr);
  assert.ok(r.ms < 3000, `exit took ${r.ms} ms`);
  assert.match(r.stderr, /Query was cancelled/);
  // the server has no such query left running
  const left = await chwire(['--url', url, "SELECT count() FROM system.processes WHERE query LIKE '%cityHash64(number) = 0%' AND query NOT LIKE '%system.processes%'"]);
  assert.equal(left.stdout, '0\n', left.stderr);
});

test('cli: bin/chwire.js (built) prints the engine version', { skip: skip || (existsSync(join(repoRoot, 'dist', 'cli', 'main.js')) ? false : 'dist/ is not built (npm run build)') }, async () => {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin', 'chwire.js'), 'SELECT version()'], { encoding: 'utf8', env: { ...process.env, CLICKHOUSE_URL: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\.\d+\n$/);
});

const PTY_DRIVER = `
import os, pty, sys, time, select
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
out = b''
def pump(t):
    global out
    end = time.time() + t
    while time.time() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try: out += os.read(fd, 65536)
            except OSError: return
for line in [b'SELECT 1 AS x,\\r', b"'two' AS y;\\r", b'SELECT * FROM nope_repl;\\r', b'exit\\r']:
    pump(2.0); os.write(fd, line)
pump(3.0)
sys.stdout.write(out.decode('utf8', 'replace'))
`;

test('cli: the interactive prompt (multi-line statements, errors, history)', { skip: skip || (spawnSync('python3', ['-c', 'import pty'], { stdio: 'ignore' }).status === 0 ? false : 'python3 is not available') }, () => {
  const hist = join(work, 'history');
  const r = spawnSync('python3', ['-c', PTY_DRIVER, process.execPath, '--import', 'tsx', MAIN], {
    cwd: repoRoot,
    env: { ...process.env, CLICKHOUSE_URL: '', CHWIRE_HISTORY: hist },
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.match(r.stdout, /chwire :\) /);
  assert.match(r.stdout, /:-\] /); // continuation prompt
  assert.match(r.stdout, /│ 1 │ two │/);
  assert.match(r.stdout, /1 row in set/);
  assert.match(r.stdout, /Code: 60\. DB::Exception: .*nope_repl/);
  assert.match(r.stdout, /Bye\./);
  assert.equal(readFileSync(hist, 'utf8'), "SELECT 1 AS x, 'two' AS y;\nSELECT * FROM nope_repl;\n");
});

// ---------------------------------------------------------------- fixes found by testing

test('cli: # comments are skipped; statements of unknown kind print their rows', { skip }, async () => {
  const c = await chwire(['# comment\nSELECT 2']);
  assert.equal(c.stdout, '2\n', c.stderr);
  const file = join(work, 'hash.sql');
  writeFileSync(file, 'SELECT 1;\n# comment\nSELECT 2;\n');
  const f = await chwire(['--file', file]);
  assert.equal(f.stdout, '1\n2\n', f.stderr);
  const from = await chwire(['FROM numbers(2) SELECT number']);
  assert.equal(from.stdout, '0\n1\n', from.stderr);
  // a statement of unknown kind without a result prints nothing (and an INSERT still works)
  const url = `chdb:${join(work, 'db_kinds')}`;
  const d = await chwire(['--url', url, "CREATE TABLE k (x UInt8) ENGINE = MergeTree ORDER BY x; INSERT INTO k VALUES (7); KILL QUERY WHERE query_id = 'chwire-none'; SELECT x FROM k"]);
  assert.equal(d.code, 0, d.stderr);
  assert.equal(d.stdout, '7\n');
});

test('cli: -q/--query is in the help; serve --help prints the serve usage', async () => {
  const h = await chwire(['--help']);
  assert.match(h.stdout, /-q, --query SQL/);
  const s = await chwire(['serve', '--help']);
  assert.equal(s.code, 0, s.stderr);
  assert.match(s.stdout, /^usage: chwire serve /);
});

test('cli: a malformed --url names the option and hides the password', async () => {
  const r = await chwire(['--url', 'clickhouse://u:pa%zzword@127.0.0.1:1', 'SELECT 1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--url clickhouse:\/\/u:\*\*\*@127\.0\.0\.1:1 is malformed: a '%' not followed by two hex digits/);
  assert.doesNotMatch(r.stderr, /pa%zz/);
  const e = await chwire(['SELECT 1'], undefined, { CLICKHOUSE_URL: 'chdb:/tmp/a%b' });
  assert.match(e.stderr, /\$CLICKHOUSE_URL chdb:\/tmp\/a%b is malformed/);
});

test('cli: Point and Ring print as ClickHouse prints them (tuples)', { skip }, async () => {
  const sql = "SELECT (1.5, 2.5)::Point AS p, [(1, 2), (3, 4)]::Ring AS r, [[(1, 2)]]::Polygon AS pg, [(1, 2)]::LineString AS ls";
  for (const format of ['TSV', 'CSV', 'JSONEachRow']) {
    const r = await chwire(['--format', format, sql]);
    assert.equal(r.stdout, await engineQuery(sql, { format }), `${format}: ${r.stderr}`);
  }
});

test('cli: CSV Point/Tuple columns spread over fields on insert, as on output', { skip }, async () => {
  const url = `chdb:${join(work, 'db_geo')}`;
  let r = await chwire(['--url', url, "CREATE TABLE g (id UInt8, p Point, t Tuple(a String, b Array(UInt8))) ENGINE = MergeTree ORDER BY id"]);
  assert.equal(r.code, 0, r.stderr);
  const csv = '1,1.5,2.5,"x,y","[1,2]"\n';
  r = await chwire(['--url', url, 'insert', 'g', '--format', 'CSV'], csv);
  assert.equal(r.code, 0, r.stderr);
  const back = await chwire(['--url', url, '-f', 'CSV', 'SELECT * FROM g']);
  assert.equal(back.stdout, csv);
});

test('cli: JSONEachRow rows that omit keys get the type defaults; a DEFAULT expression is an error', { skip }, async () => {
  const url = `chdb:${join(work, 'db_json')}`;
  const cols = "id UInt8, e Enum8('b' = 2, 'a' = 1), d Date, s String, fs FixedString(2), t Tuple(UInt8, String), n Nullable(String), a Array(UInt8), m Map(String, UInt8), dec Decimal(9, 2), u UUID, p Point";
  let r = await chwire(['--url', url, `CREATE TABLE j (${cols}) ENGINE = MergeTree ORDER BY id; CREATE TABLE jref (${cols}) ENGINE = MergeTree ORDER BY id; INSERT INTO jref FORMAT JSONEachRow {"id": 3}`]);
  assert.equal(r.code, 0, r.stderr);
  r = await chwire(['--url', url, 'insert', 'j', '--format', 'JSONEachRow'], '{"id": 3}\n');
  assert.equal(r.code, 0, r.stderr);
  const mine = await chwire(['--url', url, 'SELECT * FROM j']);
  const ref = await chwire(['--url', url, 'SELECT * FROM jref']);
  assert.equal(mine.stdout, ref.stdout);
  r = await chwire(['--url', url, 'CREATE TABLE jd (id UInt8, x UInt32 DEFAULT id * 10) ENGINE = MergeTree ORDER BY id']);
  assert.equal(r.code, 0, r.stderr);
  r = await chwire(['--url', url, 'insert', 'jd', '--format', 'JSONEachRow'], '{"id": 1, "x": 5}\n{"id": 2}\n');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /JSONEachRow row 2 omits column x \(UInt32\): it has DEFAULT .*cannot evaluate/);
});

async function serverUrls(t: { skip: (m: string) => void }): Promise<{ url: string; http: string; user: string; password: string } | undefined> {
  if (!existsSync(join(repoRoot, 'src', 'transport', 'tcp.ts'))) {
    t.skip('the TCP transport (src/transport/tcp.ts) does not exist yet');
    return undefined;
  }
  const srv = await testServer();
  if (!srv) {
    t.skip('no ClickHouse test server');
    return undefined;
  }
  return { url: `clickhouse://${srv.host}:${srv.tcpPort}`, http: `http://${srv.host}:${srv.httpPort}`, ...srv.secured };
}

test("cli: insert reads the server's TSV of arrays with quotes and backslashes, and its CSV of tuples", async (t) => {
  const s = await serverUrls(t);
  if (!s) return;
  const run = (args: string[], input?: string | Uint8Array) => chwire(['--url', s.url, ...args], input);
  let r = await run(['DROP TABLE IF EXISTS chwire_cli_q; CREATE TABLE chwire_cli_q (a Array(String), t Tuple(String, UInt8), m Array(Array(String))) ENGINE = Memory']);
  assert.equal(r.code, 0, r.stderr);
  // the server's own TSV text of ['y''z', 'a\\b'], ('q''', 1) and [['<tab><newline>']]
  const tsv = "['y\\'z','a\\\\b']\t('q\\'',1)\t[['\\t\\n']]\n";
  r = await run(['insert', 'chwire_cli_q'], tsv);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await run(['SELECT * FROM chwire_cli_q'])).stdout, tsv);
  assert.equal((await run(["SELECT a[1] = 'y\\'z' AND a[2] = 'a\\\\b' AND m[1][1] = '\\t\\n' FROM chwire_cli_q"])).stdout, '1\n');
  // CSV: the Tuple spreads over two fields, as the server writes it (and reads it)
  const csv = (await run(['-f', 'CSV', 'SELECT * FROM chwire_cli_q'])).stdout;
  assert.match(csv, /,"q'",1,/);
  r = await run(['insert', 'chwire_cli_q', '--format', 'CSV'], csv);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((await run(["SELECT count() FROM chwire_cli_q WHERE t.1 = 'q\\''"])).stdout, '2\n');
  // a bad value names the row and the column
  r = await run(['insert', 'chwire_cli_q'], tsv + "['x\t('a',1)\t[]\n");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /row 2, column a \(Array\(String\)\)/);
  await run(['DROP TABLE chwire_cli_q']);
});

test('cli: --ask-password without a terminal reads the first line of stdin; the SQL follows', async (t) => {
  const s = await serverUrls(t);
  if (!s) return;
  const r = await chwire(['--url', s.url, '--user', s.user, '--ask-password'], `${s.password}\nSELECT 42\n`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '42\n');
});

test('cli: a Native insert over HTTP reports the rows sent (18.16 sends no X-ClickHouse-Summary)', async (t) => {
  const s = await serverUrls(t);
  if (!s) return;
  const run = (args: string[], input?: string | Uint8Array) => chwire(['--url', s.url, ...args], input);
  let r = await run(['DROP TABLE IF EXISTS chwire_cli_n; CREATE TABLE chwire_cli_n (n UInt64) ENGINE = Memory']);
  assert.equal(r.code, 0, r.stderr);
  const native = (await run(['-f', 'Native', 'SELECT number AS n FROM numbers(5)'])).out;
  r = await chwire(['--url', s.http, 'insert', 'chwire_cli_n', '--format', 'Native'], native);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /inserted 5 rows into chwire_cli_n/);
  assert.equal((await run(['SELECT count() FROM chwire_cli_n'])).stdout, '5\n');
  await run(['DROP TABLE chwire_cli_n']);
});

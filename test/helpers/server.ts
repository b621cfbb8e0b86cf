// Test helpers for the real ClickHouse 18.16 servers run by scripts/clickhouse-server.sh.
//
//   const srv = await testServer();       // null when no server is available (skip the test)
//   if (!srv) return t.skip('no ClickHouse server');
//
// Failover tests: stopServer('B') / startServer('B'), and restart in a finally/after() so that other
// test files find B up. Instance A is never to be stopped by tests (every file relies on it).
//
// testServer() reads .tmp/clickhouse/env. When instance A is not answering and CHWIRE_TEST is set
// (scripts/run-tests.mjs sets it), it starts the servers with the script (instances A, B, C, T). Without
// an installed clickhouse-server it returns null, unless CHWIRE_TEST_REQUIRE_SERVER is set (CI),
// in which case it throws.
import { before, after } from 'node:test';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Instance = 'A' | 'B' | 'C';

export interface ServerInfo {
  host: string;
  /** Instance A: plain TCP, HTTP, TLS (verificationMode relaxed) and HTTPS. */
  tcpPort: number;
  httpPort: number;
  tlsPort: number;
  httpsPort: number;
  /** Instance B: plain TCP and HTTP (failover, Distributed tables). */
  tcpPortB: number;
  httpPortB: number;
  /** Instance C: plain TCP/HTTP plus TLS/HTTPS with verificationMode strict (client cert required). */
  tcpPortC: number;
  httpPortC: number;
  tlsPortStrict: number;
  httpsPortStrict: number;
  /** Instance T: plain TCP and HTTP on a server whose timezone is `zoneT` (the others' is UTC). */
  tcpPortT: number;
  httpPortT: number;
  zoneT: string;
  /** Name the server certificate is issued to (CN and SAN; the SAN also has 127.0.0.1). */
  servername: string;
  /** PEM contents of the test CA, the CA-signed client certificate and its key. */
  ca: string;
  clientCert: string;
  clientKey: string;
  /** A self-signed client certificate the CA did not sign (must be rejected). */
  rogueCert: string;
  rogueKey: string;
  /** File paths of the same PEM files. */
  files: { ca: string; clientCert: string; clientKey: string; rogueCert: string; rogueKey: string };
  /** User with a password (readonly=2: reads, may change settings). */
  secured: { user: string; password: string };
  /** Cluster names in <remote_servers>: two shards (A, B) and one shard with two replicas (A, B). */
  clusters: { shards: string; replicas: string };
  /** Server version, e.g. "18.16.1". */
  version: string;
  /** The servers' folder (.tmp/clickhouse). */
  dir: string;
}

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = join(repoRoot, 'scripts', 'clickhouse-server.sh');

function envFilePath(): string {
  return process.env.CHWIRE_TEST_ENV_FILE ?? join(repoRoot, '.tmp', 'clickhouse', 'env');
}

/** Parses the KEY=VALUE lines of the env file (values may be single-quoted, shell style). */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2]!;
    if (v.startsWith("'")) {
      // 'abc'\''def' → abc'def
      let s = '';
      let i = 0;
      while (i < v.length) {
        if (v[i] === "'") {
          const end = v.indexOf("'", i + 1);
          if (end < 0) throw new Error(`unterminated quote in env file line: ${line}`);
          s += v.slice(i + 1, end);
          i = end + 1;
        } else if (v[i] === '\\' && i + 1 < v.length) {
          s += v[i + 1];
          i += 2;
        } else {
          s += v[i];
          i++;
        }
      }
      v = s;
    }
    out[m[1]!] = v;
  }
  return out;
}

function toInfo(env: Record<string, string>): ServerInfo {
  const str = (k: string): string => {
    const v = env[k];
    if (v === undefined || v === '') throw new Error(`env file ${envFilePath()} lacks ${k}`);
    return v;
  };
  const num = (k: string): number => {
    const n = Number(str(k));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`env file: ${k} is not a port`);
    return n;
  };
  const files = {
    ca: str('CHWIRE_TEST_TLS_CA'),
    clientCert: str('CHWIRE_TEST_TLS_CLIENT_CERT'),
    clientKey: str('CHWIRE_TEST_TLS_CLIENT_KEY'),
    rogueCert: str('CHWIRE_TEST_TLS_ROGUE_CERT'),
    rogueKey: str('CHWIRE_TEST_TLS_ROGUE_KEY'),
  };
  return {
    host: str('CHWIRE_TEST_HOST'),
    tcpPort: num('CHWIRE_TEST_TCP_PORT'),
    httpPort: num('CHWIRE_TEST_HTTP_PORT'),
    tlsPort: num('CHWIRE_TEST_TLS_PORT'),
    httpsPort: num('CHWIRE_TEST_HTTPS_PORT'),
    tcpPortB: num('CHWIRE_TEST_TCP_PORT_B'),
    httpPortB: num('CHWIRE_TEST_HTTP_PORT_B'),
    tcpPortC: num('CHWIRE_TEST_TCP_PORT_C'),
    httpPortC: num('CHWIRE_TEST_HTTP_PORT_C'),
    tlsPortStrict: num('CHWIRE_TEST_TLS_PORT_STRICT'),
    tcpPortT: num('CHWIRE_TEST_TCP_PORT_T'),
    httpPortT: num('CHWIRE_TEST_HTTP_PORT_T'),
    zoneT: str('CHWIRE_TEST_ZONE_T'),
    httpsPortStrict: num('CHWIRE_TEST_HTTPS_PORT_STRICT'),
    servername: env.CHWIRE_TEST_TLS_SERVERNAME || 'localhost',
    ca: readFileSync(files.ca, 'utf8'),
    clientCert: readFileSync(files.clientCert, 'utf8'),
    clientKey: readFileSync(files.clientKey, 'utf8'),
    rogueCert: readFileSync(files.rogueCert, 'utf8'),
    rogueKey: readFileSync(files.rogueKey, 'utf8'),
    files,
    secured: { user: str('CHWIRE_TEST_SECURED_USER'), password: str('CHWIRE_TEST_SECURED_PASSWORD') },
    clusters: {
      shards: env.CHWIRE_TEST_CLUSTER_SHARDS || 'chwire_two_shards',
      replicas: env.CHWIRE_TEST_CLUSTER_REPLICAS || 'chwire_two_replicas',
    },
    version: str('CHWIRE_TEST_VERSION'),
    dir: str('CHWIRE_TEST_DIR'),
  };
}

/** Resolves true when a TCP connection to host:port is accepted within timeoutMs. */
export function portAccepts(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Resolves true when the instance's HTTP /ping answers (no noise in the server log). */
async function httpPing(host: string, port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://${host}:${port}/ping`, { signal: AbortSignal.timeout(2000) });
    return r.ok && (await r.text()).startsWith('Ok.');
  } catch {
    return false;
  }
}

function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/bin', '/usr/local/bin'];
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return null;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string | Uint8Array, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      const r = { code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (timedOut) reject(new Error(`${cmd} ${args.join(' ')}: timed out after ${timeoutMs} ms\n${r.stderr}`));
      else resolve(r);
    });
    if (input !== undefined) {
      child.stdin!.on('error', () => {}); // the process may exit before reading everything
      child.stdin!.end(input);
    }
  });
}

async function runScript(args: string[]): Promise<void> {
  const r = await run('bash', [script, ...args], undefined, 240_000);
  if (r.code !== 0) {
    throw new Error(`scripts/clickhouse-server.sh ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  }
}

async function readInfoIfUp(): Promise<ServerInfo | null> {
  const file = envFilePath();
  if (!existsSync(file)) return null;
  const env = parseEnvFile(readFileSync(file, 'utf8'));
  // An env file written before instance T existed: start (which rewrites it).
  if (!env.CHWIRE_TEST_TCP_PORT_T) return null;
  const info = toInfo(env);
  // Instances A, C and T decide "up" (no test ever stops them); B is left alone: a failover test in
  // another process may have stopped it on purpose, and restarting it here would break that test.
  return (await httpPing(info.host, info.httpPort)) && (await httpPing(info.host, info.httpPortC)) && (await httpPing(info.host, info.httpPortT)) ? info : null;
}

let cached: Promise<ServerInfo | null> | undefined;

/**
 * The test servers' ports, certificates and users, or null when none is available. Memoized per
 * process; starts the servers when they are down and CHWIRE_TEST is set.
 */
export function testServer(): Promise<ServerInfo | null> {
  cached ??= (async () => {
    const info = await readInfoIfUp();
    if (info) return info;
    const required = !!process.env.CHWIRE_TEST_REQUIRE_SERVER;
    if (!process.env.CHWIRE_TEST) {
      if (required) throw new Error('CHWIRE_TEST_REQUIRE_SERVER is set but the test servers are not running');
      return null;
    }
    if (!findBinary('clickhouse-server') || !findBinary('clickhouse-client')) {
      if (required) throw new Error('CHWIRE_TEST_REQUIRE_SERVER is set but clickhouse-server/-client are not installed');
      return null;
    }
    // `start` is idempotent: it starts only the instances that are down.
    await runScript(['start']);
    const started = await readInfoIfUp();
    if (!started) throw new Error('the test servers were started but do not answer');
    return started;
  })();
  return cached;
}

async function requireServer(): Promise<ServerInfo> {
  const info = await testServer();
  if (!info) throw new Error('no ClickHouse test server (set CHWIRE_TEST=1 and install clickhouse-server)');
  return info;
}

export interface ClientOptions {
  /** TCP port; default instance A's. Ignored when args contain --port. */
  port?: number;
  /** Settings passed as --name=value. */
  settings?: Record<string, string | number | boolean>;
  timeoutMs?: number;
}

/**
 * Runs Debian's clickhouse-client (`--host 127.0.0.1 --port P ...args`) and returns its stdout.
 * Rejects with the client's stderr when it exits non-zero. `input` goes to stdin (e.g. INSERT data);
 * without it stdin is /dev/null. Never pass --help: this version's client hangs on it.
 */
export async function clickhouseClient(
  args: string[],
  input?: string | Uint8Array,
  opts: ClientOptions = {},
): Promise<string> {
  if (args.includes('--help') || args.includes('-h')) throw new Error('clickhouse-client --help hangs on 18.16');
  const info = await requireServer();
  const client = findBinary('clickhouse-client');
  if (!client) throw new Error('clickhouse-client is not installed');
  const full: string[] = [];
  if (!args.some((a) => a === '--host' || a.startsWith('--host='))) full.push('--host', info.host);
  if (!args.some((a) => a === '--port' || a.startsWith('--port='))) full.push('--port', String(opts.port ?? info.tcpPort));
  for (const [k, v] of Object.entries(opts.settings ?? {})) full.push(`--${k}=${typeof v === 'boolean' ? Number(v) : v}`);
  full.push(...args);
  const r = await run(client, full, input, opts.timeoutMs ?? 60_000);
  if (r.code !== 0) {
    throw new Error(`clickhouse-client ${full.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
  }
  return r.stdout;
}

/** Runs `sql FORMAT JSONCompact` with clickhouse-client and returns the `data` rows (64-bit integers are strings). */
export async function serverQuery(sql: string, opts: ClientOptions = {}): Promise<unknown[][]> {
  const text = await clickhouseClient(['-q', `${sql.trim().replace(/;+$/, '')} FORMAT JSONCompact`], undefined, opts);
  if (text.trim() === '') return [];
  const parsed = JSON.parse(text) as { data: unknown[][] };
  return parsed.data;
}

/** Runs one or more statements (e.g. DDL) with clickhouse-client --multiquery; returns stdout. */
export async function serverExec(sql: string, opts: ClientOptions = {}): Promise<string> {
  return clickhouseClient(['--multiquery', '-q', sql], undefined, opts);
}

function instanceFilePid(info: ServerInfo, name: Instance): number | null {
  try {
    const pid = Number(readFileSync(join(info.dir, name, 'server.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/** The pid of a running instance, or null. */
export async function serverPid(name: Instance): Promise<number | null> {
  return instanceFilePid(await requireServer(), name);
}

/** Stops instance A, B or C (SIGTERM by pid file, SIGKILL after 15 s); resolves once it has exited. */
export async function stopServer(name: Instance): Promise<void> {
  await requireServer();
  await runScript(['stop', name]);
}

/** Starts instance A, B or C again (no-op when running); resolves once its TCP port answers. */
export async function startServer(name: Instance): Promise<void> {
  await requireServer();
  await runScript(['start', name]);
}

/**
 * For a test file against the server: the server (null when absent), found before the tests run,
 * and the unhandled rejections seen meanwhile (the file asserts the list is empty at its end).
 */
export function serverTestFile(): { server: () => ServerInfo | null; unhandled: unknown[] } {
  let srv: ServerInfo | null = null;
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  before(async () => {
    process.on('unhandledRejection', onUnhandled);
    srv = await testServer();
  });
  after(() => process.off('unhandledRejection', onUnhandled));
  return { server: () => srv, unhandled };
}

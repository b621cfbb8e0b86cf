// `chwire serve [--port 9000] [--host 127.0.0.1] [--data-dir DIR] [--user NAME --password PW ...]
//               [--tls-cert F --tls-key F [--tls-ca F]] [--max-connections N] [--sparse COL,...]`
// The command's entry point for src/cli: `chwire serve …` → serveMain(argv after "serve").
import { readFileSync } from 'node:fs';
import { createServer, type ServerOptions, type ServerUser } from './server.js';

export const SERVE_USAGE = `usage: chwire serve [--port 9000] [--host 127.0.0.1] [--data-dir DIR]
                    [--user NAME --password PW ...] [--tls-cert FILE --tls-key FILE [--tls-ca FILE]]
                    [--max-connections N] [--chunked] [--sparse COL[,COL...]] [--quiet]`;

const SERVE_HELP = `A native-protocol ClickHouse server over the embedded engine (chDB), until SIGINT/SIGTERM.
  --port N               TCP port (default 9000; 0 picks a free one)
  --host ADDR            address to bind (default 127.0.0.1)
  --data-dir DIR         persistent data directory (default: a temporary one)
  --user NAME            a user (repeatable; default: default without a password)
  --password PW          the preceding --user's password
  --tls-cert F --tls-key F [--tls-ca F]   TLS (with --tls-ca: client certificates required)
  --max-connections N    refuse connections beyond N (default 256)
  --chunked              offer chunked framing both ways
  --sparse COL,...       send these columns in sparse serialization (debugging)
  --quiet                no log lines
  --help, -h             this help`;

/** Parse `serve` arguments into server options (throws on a bad argument). */
export function parseServeArgs(argv: string[]): ServerOptions {
  const o: ServerOptions = {};
  const users: ServerUser[] = [];
  let cert: string | undefined;
  let key: string | undefined;
  let ca: string | undefined;
  const value = (i: number, flag: string): string => {
    const v = argv[i + 1];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i]!;
    let inline: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) {
      inline = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const take = (): string => {
      if (inline !== undefined) return inline;
      const v = value(i, a);
      i++;
      return v;
    };
    switch (a) {
      case '--port': {
        const p = Number(take());
        if (!Number.isInteger(p) || p < 0 || p > 65535) throw new Error('--port must be 0..65535');
        o.port = p;
        break;
      }
      case '--host':
        o.host = take();
        break;
      case '--data-dir':
        o.dataDir = take();
        break;
      case '--user':
        users.push({ name: take(), password: '' });
        break;
      case '--password': {
        const u = users[users.length - 1];
        if (!u) throw new Error('--password must follow --user');
        u.password = take();
        break;
      }
      case '--tls-cert':
        cert = take();
        break;
      case '--tls-key':
        key = take();
        break;
      case '--tls-ca':
        ca = take();
        break;
      case '--max-connections':
        o.maxConnections = Number(take());
        break;
      case '--chunked':
        o.chunkedSend = 'chunked_optional';
        o.chunkedRecv = 'chunked_optional';
        break;
      case '--sparse':
        o.sparseColumns = take().split(',').filter(Boolean);
        break;
      case '--quiet':
        o.log = () => {};
        break;
      default:
        throw new Error(`unknown argument ${a}`);
    }
  }
  if (users.length) o.users = users;
  if (cert || key) {
    if (!cert || !key) throw new Error('--tls-cert and --tls-key go together');
    o.tls = { cert: readFileSync(cert), key: readFileSync(key), ...(ca ? { ca: readFileSync(ca) } : {}) };
  }
  o.log ??= (line) => process.stderr.write(line + '\n');
  return o;
}

/** Run the server until SIGINT/SIGTERM; resolves with the exit code. */
export async function serveMain(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${SERVE_USAGE}\n\n${SERVE_HELP}\n`);
    return 0;
  }
  let options: ServerOptions;
  try {
    options = parseServeArgs(argv);
  } catch (e) {
    process.stderr.write(`chwire serve: ${(e as Error).message}\n${SERVE_USAGE}\n`);
    return 2;
  }
  const server = createServer(options);
  try {
    await server.listen();
  } catch (e) {
    process.stderr.write(`chwire serve: ${(e as Error).message}\n`);
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

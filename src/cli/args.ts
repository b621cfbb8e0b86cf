// Command-line arguments of `chwire`.
import { ClientError } from '../client/errors.js';

export interface CliArgs {
  command: 'query' | 'insert' | 'help' | 'version';
  queries: string[];
  table?: string;
  url?: string;
  format?: string;
  params: Record<string, string>;
  settings: Record<string, string | number>;
  queryId?: string;
  compression?: 'lz4' | 'zstd' | 'none';
  user?: string;
  password?: string;
  askPassword: boolean;
  database?: string;
  file?: string;
  verbose: boolean;
  progress?: boolean;
  batchRows?: number;
}

export const USAGE = `chwire — ClickHouse from the command line (native protocol, or the embedded engine)

Usage:
  chwire [options] "SQL"                 run a query (several statements: separate with ;)
  chwire [options] -q "SQL"              the same (-q/--query; also for SQL that starts with -- or -)
  chwire [options] --file x.sql          run the statements in a file ('-' = stdin)
  chwire [options] < x.sql               run the statements from stdin
  chwire [options]                       interactive prompt (when stdin is a terminal)
  chwire insert TABLE [options] < data   insert data (--format TSV|CSV|JSONEachRow|Native|CSVWithNames|TSVWithNames)
  chwire serve [--port 9000] [...]       a native-protocol server over the embedded engine (chwire serve --help)

Options:
  -q, --query SQL        a query (repeatable)
  --url URL              clickhouse://user:pass@host:9000/db, clickhouses://…, chdb:, chdb:/data/dir
                         (default: $CLICKHOUSE_URL, else the embedded engine)
  -f, --format NAME      output: Pretty (table; default on a terminal), TSV (default otherwise),
                         CSV, JSONEachRow, JSON, Native. A trailing FORMAT clause in the SQL works too.
  --param NAME=VALUE     a query parameter for {NAME:Type} (also --param_NAME=VALUE)
  --setting NAME=VALUE   a query setting (repeatable)
  --query-id ID          the query id
  --compression METHOD   lz4, zstd or none (native protocol)
  --user NAME            user name
  --password PASS        password
  --ask-password         prompt for the password
  -d, --database NAME    default database
  --batch-rows N         rows per block for chwire insert (default 100000)
  --progress / --no-progress   force the progress line on/off (default: on when stderr is a terminal)
  -v, --verbose          stack traces on errors
  -h, --help             this help
  --version              chwire's version

Ctrl-C cancels the running query (exit status 130).`;

function splitKV(s: string, what: string): [string, string] {
  const i = s.indexOf('=');
  if (i <= 0) throw new ClientError(`${what} must be NAME=VALUE, got ${JSON.stringify(s)}`, 'CHWIRE_USAGE');
  return [s.slice(0, i), s.slice(i + 1)];
}

export function parseArgs(argv: string[]): CliArgs {
  const a: CliArgs = { command: 'query', queries: [], params: {}, settings: {}, askPassword: false, verbose: false };
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i]!;
    let inline: string | undefined;
    if (arg.startsWith('--') && arg.includes('=')) {
      const eq = arg.indexOf('=');
      inline = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new ClientError(`${arg} needs a value`, 'CHWIRE_USAGE');
      return v;
    };
    if (arg.startsWith('--param_')) {
      a.params[arg.slice(8)] = value();
      continue;
    }
    switch (arg) {
      case '--url':
        a.url = value();
        break;
      case '-f':
      case '--format':
        a.format = value();
        break;
      case '--param': {
        const [k, v] = splitKV(value(), '--param');
        a.params[k] = v;
        break;
      }
      case '--setting':
      case '-s': {
        const [k, v] = splitKV(value(), '--setting');
        a.settings[k] = /^-?\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : v;
        break;
      }
      case '--query-id':
      case '--query_id':
        a.queryId = value();
        break;
      case '--compression': {
        const v = value().toLowerCase();
        if (v !== 'lz4' && v !== 'zstd' && v !== 'none') throw new ClientError(`--compression must be lz4, zstd or none`, 'CHWIRE_USAGE');
        a.compression = v;
        break;
      }
      case '--user':
      case '-u':
        a.user = value();
        break;
      case '--password':
        a.password = value();
        break;
      case '--ask-password':
        a.askPassword = true;
        break;
      case '-d':
      case '--database':
        a.database = value();
        break;
      case '--file':
        a.file = value();
        break;
      case '-q':
      case '--query':
        a.queries.push(value());
        break;
      case '--batch-rows': {
        const n = Number(value());
        if (!Number.isInteger(n) || n <= 0) throw new ClientError('--batch-rows must be a positive integer', 'CHWIRE_USAGE');
        a.batchRows = n;
        break;
      }
      case '--progress':
        a.progress = true;
        break;
      case '--no-progress':
        a.progress = false;
        break;
      case '-v':
      case '--verbose':
        a.verbose = true;
        break;
      case '-h':
      case '--help':
        a.command = 'help';
        break;
      case '--version':
        a.command = 'version';
        break;
      default:
        if (arg.startsWith('-') && arg !== '-') throw new ClientError(`unknown option ${arg} (see chwire --help)`, 'CHWIRE_USAGE');
        positional.push(argv[i]!);
    }
  }
  if (a.command === 'query' && positional[0] === 'insert' && positional.length === 2 && !/\s/.test(positional[1]!)) {
    a.command = 'insert';
    a.table = positional[1]!;
  } else if (a.command === 'query') a.queries.push(...positional);
  return a;
}

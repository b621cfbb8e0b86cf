// Streams N rows through chwire (the built package, as users run it) in a child process and
// reports peak RSS. Run by bench/run.ts after `npm run build`.
import { createClient } from '../dist/index.js';

const [url, n] = process.argv.slice(2);
const c = createClient({ url, request_timeout: 3_600_000 });
const t = performance.now();
let rows = 0;
// A block-by-block consumer: reuse_buffers recycles the inbound buffers (flat memory).
for await (const b of await c.query({ query: `SELECT number FROM system.numbers LIMIT ${n}`, reuse_buffers: true })) rows += b.columns[0].toArray().length;
const seconds = (performance.now() - t) / 1000;
await c.close();
// Peak RSS of this process: VmHWM (Linux). getrusage's maxRSS is not reset by exec, so in a child it
// can report the parent's size at fork time.
let rssMB = process.resourceUsage().maxRSS / 1024;
try {
  const { readFileSync } = await import('node:fs');
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (m) rssMB = Number(m[1]) / 1024;
} catch {
  // not Linux: keep maxRSS
}
console.log(JSON.stringify({ seconds, rows, rssMB }));

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
console.log(JSON.stringify({ seconds, rows, rssMB: process.resourceUsage().maxRSS / 1024 }));

// One code path for the embedded engine and a real server: only the URL changes.
//   node examples/same-code-any-target.mjs                                  (embedded, chdb:)
//   CLICKHOUSE_URL=clickhouse://127.0.0.1:9000 node examples/same-code-any-target.mjs
import { createClient, ClickHouseError } from '../dist/index.js';

const client = createClient({ url: process.env.CLICKHOUSE_URL || 'chdb:' });
console.log(`transport: ${client.kind}`);

const rs = await client.query({ query: 'SELECT number AS n, n * n AS sq FROM numbers(5)' });
console.log(rs.meta, await rs.columns());

try {
  await client.query({ query: 'SELECT * FROM no_such_table' });
} catch (e) {
  if (e instanceof ClickHouseError) console.log(`server error ${e.code}: ${e.message}`);
  else throw e;
}

// Cancel a long query: it rejects promptly with AbortError — query() itself, or reading its
// result (over TCP query() resolves as soon as the server sends the result's header).
const ac = new AbortController();
setTimeout(() => ac.abort(), 200);
await client
  .query({ query: 'SELECT count() FROM numbers(1000000000) WHERE cityHash64(number) = 0', abort_signal: ac.signal })
  .then((rs) => rs.json())
  .catch((e) => console.log(`cancelled: ${e.name}`));

await client.close();
// An aborted embedded query may still run in the background; do not wait for it.
process.exit(0);

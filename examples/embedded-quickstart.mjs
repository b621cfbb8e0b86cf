// Zero set-up: the embedded ClickHouse engine (npm `chdb`), no server needed.
//   npm install && npm run build && node examples/embedded-quickstart.mjs
// The same code talks to a server with createClient({ url: 'clickhouse://localhost:9000' }).
import { createClient } from '../dist/index.js';

const client = createClient({ url: 'chdb:' }); // or 'chdb:/path/to/data' for a persistent directory

console.log(await (await client.query({ query: 'SELECT version() AS version' })).json());

await client.command({ query: 'CREATE TABLE IF NOT EXISTS events (id UInt64, name String, at DateTime) ENGINE = MergeTree ORDER BY id' });
await client.insert({
  table: 'events',
  values: [
    { id: 1, name: 'signup', at: new Date() },
    { id: 2, name: 'login', at: new Date() },
  ],
});

const rs = await client.query({
  query: 'SELECT id, name, at FROM events WHERE id >= {min:UInt64} ORDER BY id',
  query_params: { min: 1 },
  clickhouse_settings: { max_threads: 2 },
});
for await (const row of rs.rows()) console.log(row);

await client.close();

// Loaded by index.html: imports the built package as plain ES modules (no bundler), queries the
// ClickHouse server given as ?ch=… (CORS via add_http_cors_header=1), inserts rows and renders them.
import { createClient, ClickHouseError } from '/dist/index.js';

const status = document.getElementById('status');
const ch = new URL(location.href).searchParams.get('ch');

async function main() {
  const client = createClient({ url: ch, clickhouse_settings: { add_http_cors_header: 1 } });
  const table = `default.chwire_browser_${Math.floor(Math.random() * 1e9)}`;
  try {
    const ok = await client.ping();
    await client.command({ query: `CREATE TABLE ${table} (id UInt32, name String, score Float64) ENGINE = Memory` });
    await client.insert({ table, values: [{ id: 1, name: 'ada', score: 1.5 }, { id: 2, name: 'grace', score: 2.25 }, { id: 3, name: 'linus', score: -3 }] });
    const rs = await client.query({
      query: 'SELECT id, name, score, toUInt64(id) * {m:UInt64} AS big FROM ' + table + ' ORDER BY id',
      query_params: { m: 1000000000000n },
    });
    const rows = await rs.json();
    const head = document.querySelector('#result thead');
    const body = document.querySelector('#result tbody');
    head.innerHTML = '<tr>' + rs.meta.map((c) => `<th>${c.name} (${c.type})</th>`).join('') + '</tr>';
    for (const r of rows) {
      const tr = document.createElement('tr');
      for (const c of rs.meta) {
        const td = document.createElement('td');
        td.textContent = String(r[c.name]);
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    let count = 0;
    for await (const b of await client.query({ query: 'SELECT number FROM numbers(100000)' })) count += b.rowCount;
    let err = '';
    try {
      await client.query({ query: 'SELECT throwIf(1)' });
    } catch (e) {
      err = e instanceof ClickHouseError ? `ClickHouseError ${e.code}` : String(e);
    }
    // The TCP transport needs Node.js: a typed error here, not a failed module import.
    let tcp = '';
    try {
      await createClient({ url: 'clickhouse://127.0.0.1:9000' }).query({ query: 'SELECT 1' });
    } catch (e) {
      tcp = e && e.code ? `${e.name} ${e.code}` : String(e);
    }
    status.textContent = `ping ${ok}; streamed ${count} rows; error: ${err}; tcp: ${tcp}`;
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${table}` }).catch(() => {});
    await client.close();
  }
}

main().then(
  () => (document.body.dataset.done = 'ok'),
  (e) => {
    status.textContent = `failed: ${e && e.stack ? e.stack : e}`;
    document.body.dataset.done = 'error';
  },
);

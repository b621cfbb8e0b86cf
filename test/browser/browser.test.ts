// Issue 9: the package in a real browser. Headless Chromium (Debian's `chromium`, driven by
// playwright-core) loads test/browser/index.html, which imports the freshly built package as plain
// ES modules (no bundler) and talks to ClickHouse 18.16 over HTTP with CORS; the test asserts on
// the rendered table and keeps a screenshot in .tmp/browser/. Also checks statically that the
// package's entry point reaches no Node built-in or bare import (tcp/embedded are dynamic imports).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { repoRoot, testServer } from '../helpers/server.js';

const CHROMIUM = process.env.CHWIRE_CHROMIUM ?? '/usr/bin/chromium';
const outDir = join(repoRoot, '.tmp', 'browser');
const distDir = join(outDir, 'dist');

function buildOnce(): void {
  rmSync(distDir, { recursive: true, force: true });
  execFileSync(process.execPath, [join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', distDir], { stdio: 'inherit' });
}

/** The static import graph from an entry file: every specifier reached without import(). */
function staticImports(entry: string): { files: Set<string>; external: Set<string> } {
  const files = new Set<string>();
  const external = new Set<string>();
  const todo = [entry];
  while (todo.length) {
    const f = todo.pop()!;
    if (files.has(f)) continue;
    files.add(f);
    const src = readFileSync(f, 'utf8');
    const re = /(?:^|[;\n])\s*(?:import|export)\s+(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;
    for (let m; (m = re.exec(src)); ) {
      const spec = m[1]!;
      if (spec.startsWith('.')) todo.push(resolve(dirname(f), spec));
      else external.add(spec);
    }
  }
  return { files, external };
}

test('the package works unbundled in headless Chromium over HTTP (CORS)', { timeout: 180_000 }, async (t) => {
  const srv = await testServer();
  if (!srv) return t.skip('no ClickHouse server');
  if (!existsSync(CHROMIUM)) {
    // CI installs Chromium and requires every case to run.
    if (process.env.CHWIRE_TEST_REQUIRE_SERVER) throw new Error(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
    return t.skip(`no Chromium at ${CHROMIUM} (apt-get install -y chromium)`);
  }
  let chromium: typeof import('playwright-core').chromium;
  try {
    ({ chromium } = await import('playwright-core'));
  } catch {
    return t.skip('playwright-core is not installed');
  }
  mkdirSync(outDir, { recursive: true });
  buildOnce();

  const graph = staticImports(join(distDir, 'index.js'));
  assert.deepEqual([...graph.external], [], 'the entry point statically imports no node:* or bare module');
  assert.ok(![...graph.files].some((f) => /transport[/\\](tcp|embedded|compression)\.js$/.test(f)), 'tcp/embedded are only dynamic imports');

  const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' };
  const web = createServer((req, res) => {
    const path = new URL(req.url!, 'http://x').pathname;
    const file = path.startsWith('/dist/') ? join(distDir, path.slice(6)) : join(repoRoot, 'test', 'browser', path === '/' ? 'index.html' : path.slice(1));
    if (!file.startsWith(distDir) && !file.startsWith(join(repoRoot, 'test', 'browser'))) return void res.writeHead(403).end();
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': types[extname(file)] ?? 'application/octet-stream' });
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
  const { port } = web.address() as AddressInfo;

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    // The page (localhost:port) and ClickHouse (127.0.0.1:18123) are different origins: CORS applies.
    await page.goto(`http://localhost:${port}/?ch=${encodeURIComponent(`http://${srv.host}:${srv.httpPort}`)}`);
    await page.waitForSelector('body[data-done]', { timeout: 60_000 });
    await page.screenshot({ path: join(outDir, 'http-page.png'), fullPage: true });
    const done = await page.getAttribute('body', 'data-done');
    const status = await page.textContent('#status');
    assert.equal(done, 'ok', `${status}\n${logs.join('\n')}`);
    assert.equal(status, 'ping true; streamed 100000 rows; error: ClickHouseError 395; tcp: ClientError CHWIRE_TRANSPORT_UNAVAILABLE');
    const headers = await page.$$eval('#result th', (ths) => ths.map((th) => th.textContent));
    assert.deepEqual(headers, ['id (UInt32)', 'name (String)', 'score (Float64)', 'big (UInt64)']);
    const cells = await page.$$eval('#result tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)));
    assert.deepEqual(cells, [
      ['1', 'ada', '1.5', '1000000000000'],
      ['2', 'grace', '2.25', '2000000000000'],
      ['3', 'linus', '-3', '3000000000000'],
    ]);
  } finally {
    await browser.close();
    web.close();
  }
});

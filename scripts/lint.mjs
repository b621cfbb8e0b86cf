#!/usr/bin/env node
// Project rules tsc cannot check: the core imports no node:* module and no
// package; every source file is ES module TypeScript with .js import suffixes.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

let failures = 0;
function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}
const importRe = /(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;
for (const file of walk('src')) {
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(importRe)) {
    const spec = m[1] ?? m[2];
    if (file.startsWith(join('src', 'core'))) {
      if (spec.startsWith('node:') || !spec.startsWith('.')) {
        console.error(`${file}: the core must not import '${spec}'`);
        failures++;
      }
    }
    if (spec.startsWith('.') && !spec.endsWith('.js')) {
      console.error(`${file}: relative import '${spec}' needs a .js suffix`);
      failures++;
    }
  }
  if (/\bdebugger\b/.test(text)) {
    console.error(`${file}: debugger statement`);
    failures++;
  }
}
if (failures) process.exit(1);
console.log('lint: ok');

// Summarise a V8 .cpuprofile: self time by function, top N. Used by `npm run bench -- --profile`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** The main-thread profile in dir (the one that ran chwire's sources), largest first. */
export function pickProfile(dir: string): string | undefined {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size);
  return files.find((f) => readFileSync(f, 'utf8').includes('/src/')) ?? files[0];
}

export function summarize(file: string, top = 15): { share: number; fn: string }[] {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const n = byId.get(id)!;
    const url = n.callFrame.url.split('/').slice(-2).join('/');
    const key = `${n.callFrame.functionName || '(anonymous)'} ${url}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, t]) => ({ share: t / total, fn }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const target = process.argv[2] ?? '.tmp/profile';
  const file = statSync(target).isDirectory() ? pickProfile(target) : target;
  if (!file) throw new Error(`no .cpuprofile in ${target}`);
  for (const r of summarize(file)) console.log(`${(r.share * 100).toFixed(1).padStart(5)}%  ${r.fn}`);
}

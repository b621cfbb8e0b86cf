// Native codec micro-benchmarks (issue 2): decode (to JS values / TypedArrays)
// and encode throughput per column type, next to a plain copy of the same bytes
// measured in the same run.
import { decodeNative, encodeNative, type Block } from '../src/index.js';

export interface CodecCase {
  type: string;
  rows: number;
  bytes: number;
  copyGBps: number;
  decodeGBps: number;
  decodeMRowsPerSec: number;
  encodeGBps: number;
  decodeVsCopy: number;
  encodeVsDecode: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, reps: number): number {
  const ts: number[] = [];
  fn();
  for (let i = 0; i < reps; i++) {
    const t = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t) / 1e9);
  }
  return median(ts);
}

function makeValues(type: string, n: number): ArrayLike<unknown> {
  switch (type) {
    case 'UInt64': {
      const a = new BigUint64Array(n);
      for (let i = 0; i < n; i++) a[i] = BigInt(i) * 2654435761n;
      return a;
    }
    case 'Float64':
      return Float64Array.from({ length: n }, (_, i) => i * 1.25);
    case 'String':
      return Array.from({ length: n }, (_, i) => `user-${i % 100000}`);
    case 'String(long)':
      return Array.from({ length: n }, (_, i) => `https://example.com/some/long/path/segment/${i}?query=${i * 7}&utm_source=newsletter&lang=en`);
    case 'Nullable(Float64)':
      return Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : i * 0.5));
    case 'Array(UInt32)':
      return Array.from({ length: n }, (_, i) => [i, i + 1, i + 2]);
    case 'LowCardinality(String)':
      return Array.from({ length: n }, (_, i) => `country-${i % 200}`);
  }
  throw new Error(type);
}

export function runCodecBench(rows = 1_000_000, reps = 5): CodecCase[] {
  const out: CodecCase[] = [];
  for (const label of ['UInt64', 'Float64', 'String', 'String(long)', 'Nullable(Float64)', 'Array(UInt32)', 'LowCardinality(String)']) {
    const type = label === 'String(long)' ? 'String' : label;
    const values = makeValues(label, rows);
    const bytes = encodeNative({ columns: [{ name: 'c', type, values }] });
    let blocks: Block[] = [];
    const decodeT = time(() => {
      blocks = decodeNative(bytes);
      const a = blocks[0]!.columns[0]!.toArray();
      if (a.length !== rows) throw new Error('bad decode');
    }, reps);
    const copyT = time(() => {
      const c = new Uint8Array(bytes.length);
      c.set(bytes);
    }, reps);
    const encodeT = time(() => {
      encodeNative({ columns: [{ name: 'c', type, values }] });
    }, reps);
    const gb = bytes.length / 1e9;
    out.push({
      type: label,
      rows,
      bytes: bytes.length,
      copyGBps: gb / copyT,
      decodeGBps: gb / decodeT,
      decodeMRowsPerSec: rows / decodeT / 1e6,
      encodeGBps: gb / encodeT,
      decodeVsCopy: copyT / decodeT,
      encodeVsDecode: decodeT / encodeT,
    });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const r of runCodecBench()) console.log(JSON.stringify(r));
}

// Native codec micro-benchmarks (issue 2): decode (to JS values / TypedArrays)
// and encode throughput per column type, next to a plain copy of the same bytes
// measured in the same run.
import { decodeNative, encodeNative, type Block } from '../dist/index.js';

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
  /** Fixed-width types: decodeNative of a buffer whose body is not 8-byte aligned (one copy). */
  unalignedDecodeVsCopy?: number;
  /**
   * Short strings: the V8 floor — the same strings cut with substring() from one text already in
   * memory and kept in an array, as a decode's result is (no bytes read, no checks) — in M rows/s.
   */
  floorMRowsPerSec?: number;
  /** Short strings: decode speed ÷ the V8 floor's, the two measured alternately. */
  decodeVsFloor?: number;
}

/** The V8 floor of a String column's decode: its values cut from one flat text and kept. */
function stringFloor(values: ArrayLike<unknown>): () => unknown[] {
  const n = values.length;
  const starts = new Uint32Array(n + 1);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = values[i] as string;
    parts.push(v);
    starts[i + 1] = starts[i]! + v.length;
  }
  const text = parts.join('');
  return () => {
    const out = new Array<string>(n);
    for (let i = 0; i < n; i++) out[i] = text.substring(starts[i]!, starts[i + 1]!);
    return out;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A young-generation collection (when run with --expose-gc, as `npm run bench` runs this). */
const minorGc = () => (globalThis as { gc?: (o: { type: 'minor' }) => void }).gc?.({ type: 'minor' });

/**
 * Seconds of each fn per round, the fns run alternately (A B A B …, the order rotating from round
 * to round) after one warm-up each, so heap growth favours none; each sample starts from a
 * collected young generation, as the query cases do. Samples of one round share the allocator's
 * state (whether a fresh 8 MB buffer costs page faults or reuses freed memory moves a fixed-width
 * sample by up to 8×): ratios are taken per round, then their median (`pairedRatio`).
 */
function timeAlternating(fns: (() => void)[], reps: number): number[][] {
  const ts: number[][] = fns.map(() => []);
  for (const fn of fns) fn();
  for (let i = 0; i < reps; i++)
    for (let j = 0; j < fns.length; j++) {
      // Rounds rotate the order, so each fn follows each other one equally often: a sample
      // that triggers a collection pays for its predecessor's garbage.
      const k = (i + j) % fns.length;
      minorGc();
      const t = process.hrtime.bigint();
      fns[k]!();
      ts[k]!.push(Number(process.hrtime.bigint() - t) / 1e9);
    }
  return ts;
}

/** Median over rounds of a[k] / b[k]. */
const pairedRatio = (a: number[], b: number[]) => median(a.map((x, k) => x / b[k]!));

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

/** Bytes per value of the fixed-width cases. */
const FIXED: Record<string, number> = { UInt64: 8, Float64: 8 };

/** A copy of `bytes` placed so that offset `body` lands `misalign` bytes past an 8-byte boundary. */
function placed(bytes: Uint8Array, body: number, misalign: number): Uint8Array {
  const shift = (((misalign - body) % 8) + 8) % 8;
  const buf = new Uint8Array(bytes.length + shift);
  buf.set(bytes, shift);
  return buf.subarray(shift);
}

export function runCodecBench(rows = 1_000_000, reps = 5): CodecCase[] {
  const out: CodecCase[] = [];
  for (const label of ['UInt64', 'Float64', 'String', 'String(long)', 'Nullable(Float64)', 'Array(UInt32)', 'LowCardinality(String)']) {
    const type = label === 'String(long)' ? 'String' : label;
    const values = makeValues(label, rows);
    const encoded = encodeNative({ columns: [{ name: 'c', type, values }] });
    // Input as the TCP and HTTP readers place it: a fixed-width body at an 8-byte boundary.
    const fixed = FIXED[label];
    const bytes = fixed ? placed(encoded, encoded.length - rows * fixed, 0) : encoded;
    // A decode's values live until it returns (all of them survive while it runs, as a consumer's
    // would), then die: they would otherwise burden every measurement that follows with marking them.
    const decode = (input: Uint8Array) => () => {
      const blocks: Block[] = decodeNative(input);
      if (blocks[0]!.columns[0]!.toArray().length !== rows) throw new Error('bad decode');
    };
    // Fixed-width cases take a millisecond or two: more repetitions steady their medians.
    const r = fixed ? reps * 4 : reps;
    // Decode, copy, encode (and the copying decode of an unaligned fixed-width body) alternate.
    const fns: (() => void)[] = [
      decode(bytes),
      () => {
        const c = new Uint8Array(bytes.length);
        c.set(bytes);
      },
      () => {
        encodeNative({ columns: [{ name: 'c', type, values }] });
      },
    ];
    if (fixed) fns.push(decode(placed(encoded, encoded.length - rows * fixed, 3)));
    const [dec, copy, enc, unaligned] = timeAlternating(fns, r) as [number[], number[], number[], number[] | undefined];
    // Short strings' decode alternates with its V8 floor apart from those: what runs before a
    // string sample (and the garbage it leaves) moves its time by up to 2×. (Long values are
    // slices of one text a decode must make from the bytes each time, which the floor reuses:
    // there it would measure nothing a decoder could do.)
    const floor = label === 'String' ? stringFloor(values) : undefined;
    const [dec2, floorTs] = floor
      ? timeAlternating(
          [
            decode(bytes),
            () => {
              if (floor().length !== rows) throw new Error('bad floor');
            },
          ],
          r,
        )
      : [];
    const decodeT = median(dec);
    const gb = bytes.length / 1e9;
    out.push({
      type: label,
      rows,
      bytes: bytes.length,
      copyGBps: gb / median(copy),
      decodeGBps: gb / decodeT,
      decodeMRowsPerSec: rows / decodeT / 1e6,
      encodeGBps: gb / median(enc),
      decodeVsCopy: pairedRatio(copy, dec),
      // For fixed-width columns the (aligned) decode is a view; compare encode with the
      // decode that must copy, so both move every byte once.
      encodeVsDecode: pairedRatio(unaligned ?? dec, enc),
      ...(unaligned ? { unalignedDecodeVsCopy: pairedRatio(copy, unaligned) } : {}),
      ...(floorTs && dec2 ? { floorMRowsPerSec: rows / median(floorTs) / 1e6, decodeVsFloor: pairedRatio(floorTs, dec2) } : {}),
    });
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = Number(process.argv[2] ?? 1_000_000);
  const reps = Number(process.argv[3] ?? 5);
  console.log(JSON.stringify(runCodecBench(rows, reps)));
}

// Time (Int32 seconds, signed) and Time64(p) (Int64 ticks of 10^-p s). Value: the
// engine's text form `[-]HH:MM:SS[.fff]` (hours two or three digits; like the engine,
// stored values beyond 999:59:59 show as 999:59:59 with their own fraction).
// Inserts take that text, a number of seconds (fractions allowed for Time64) or a
// bigint of raw ticks, within the documented range ±999:59:59[.999…].
import { TypeParseError } from '../errors.js';
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';

const MAX_SECONDS = 999n * 3600n + 3599n;

export function formatTime(ticks: bigint, precision: number): string {
  const neg = ticks < 0n;
  let t = neg ? -ticks : ticks;
  const scale = 10n ** BigInt(precision);
  const frac = t % scale;
  t /= scale;
  if (t > MAX_SECONDS) t = MAX_SECONDS;
  const s = Number(t % 60n);
  const m = Number((t / 60n) % 60n);
  const h = t / 3600n;
  let out = `${neg ? '-' : ''}${h.toString().padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}`;
  if (precision > 0) out += '.' + frac.toString().padStart(precision, '0');
  return out;
}

const TIME_RE = /^\s*(-)?(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d+))?)?\s*$/;

/** Ticks for a time text, or undefined. Fractions beyond the precision are truncated. */
export function parseTime(s: string, precision: number): bigint | undefined {
  const m = TIME_RE.exec(s);
  if (!m) return undefined;
  const mm = Number(m[3]);
  const ss = Number(m[4] ?? 0);
  if (mm > 59 || ss > 59) return undefined;
  const frac = (m[5] ?? '').slice(0, precision).padEnd(precision, '0');
  const secs = BigInt(m[2]!) * 3600n + BigInt(mm * 60 + ss);
  const t = secs * 10n ** BigInt(precision) + (precision ? BigInt(frac) : 0n);
  return m[1] ? -t : t;
}

/** toTicks' answer for a finite number whose ticks overflow a double. */
const OVERFLOW = 1n << 200n;

function toTicks(v: unknown, precision: number): bigint | undefined {
  if (typeof v === 'string') return parseTime(v, precision);
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number' && Number.isFinite(v)) {
    if (precision === 0) return Number.isInteger(v) ? BigInt(v) : undefined;
    const x = Math.round(v * 10 ** precision);
    return Number.isFinite(x) ? BigInt(x) : OVERFLOW;
  }
  return undefined;
}

export function makeTimeCodec(node: TypeNode, precision: number | undefined): Codec<FixedData> {
  const is64 = precision !== undefined;
  const p = precision ?? 0;
  if (p < 0 || p > 9) throw new TypeParseError(`precision ${p} out of range 0..9 in 'Time64(${p})'`);
  const width = is64 ? 8 : 4;
  const ctor = (is64 ? BigInt64Array : Int32Array) as unknown as TypedCtor;
  const max = (MAX_SECONDS + 1n) * 10n ** BigInt(p) - 1n;
  const typeName = is64 ? `Time64(${p})` : 'Time';
  const rangeMsg = `out of range for ${typeName} (${formatTime(-max, p)} .. ${formatTime(max, p)})`;
  const value = (d: FixedData, i: number) => formatTime(BigInt(typedOf<ArrayLike<number | bigint>>(d, ctor)[i]!), p);
  return {
    typeName,
    node,
    readPrefix: noPrefix,
    ...fixedBody(width),
    length: (d) => d.rows,
    get: value,
    toArray(d) {
      const out = new Array<string>(d.rows);
      for (let i = 0; i < d.rows; i++) out[i] = value(d, i);
      return out;
    },
    fromValues(values) {
      const n = values.length;
      const t = is64 ? new BigInt64Array(n) : new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const ticks = toTicks(values[i], p);
        if (ticks === undefined) throw new RowValueError(i, values[i], `not a time ('[-]HHH:MM:SS[.fff]', seconds, or bigint ticks)`);
        if (ticks < -max || ticks > max) throw new RowValueError(i, values[i], rangeMsg);
        if (is64) (t as BigInt64Array)[i] = ticks;
        else (t as Int32Array)[i] = Number(ticks);
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t as unknown as ArrayLike<number> };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => (is64 && p ? '00:00:00.' + '0'.repeat(p) : '00:00:00'),
  };
}

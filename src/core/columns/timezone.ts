// Time zone offsets via Intl (no tz database of our own). Offsets are cached
// per 15-minute bucket; every real-world transition falls on such a boundary.

const formatters = new Map<string, Intl.DateTimeFormat>();
const offsetCache = new Map<string, number>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  return f;
}

export function isUtc(tz: string | undefined): boolean {
  return tz === undefined || tz === '' || tz === 'UTC' || tz === 'Etc/UTC' || tz === 'GMT' || tz === 'Etc/GMT';
}

/** Whether Intl knows this zone. */
export function isKnownTimezone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** Seconds to add to UTC to get local wall time in tz at the instant epochSec. */
export function tzOffset(tz: string | undefined, epochSec: number): number {
  if (isUtc(tz)) return 0;
  const bucket = Math.floor(epochSec / 900);
  const key = tz + '@' + bucket;
  const hit = offsetCache.get(key);
  if (hit !== undefined) return hit;
  const parts = formatter(tz!).formatToParts(new Date(bucket * 900 * 1000));
  const p: Record<string, number> = {};
  for (const x of parts) if (x.type !== 'literal') p[x.type] = parseInt(x.value, 10);
  const local = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) / 1000;
  const off = local - bucket * 900;
  if (offsetCache.size > 100_000) offsetCache.clear();
  offsetCache.set(key, off);
  return off;
}

/** UTC epoch seconds of a local wall-clock time (seconds since epoch as if UTC) in tz. */
export function localToEpoch(tz: string | undefined, localSec: number): number {
  if (isUtc(tz)) return localSec;
  let guess = localSec - tzOffset(tz, localSec);
  guess = localSec - tzOffset(tz, guess);
  return guess;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : '' + n;
}

/** 'YYYY-MM-DD' of a day number since 1970-01-01. */
export function formatDays(days: number): string {
  const d = new Date(days * 86400000);
  const y = d.getUTCFullYear();
  return (y < 1000 ? String(y).padStart(4, '0') : y) + '-' + pad2(d.getUTCMonth() + 1) + '-' + pad2(d.getUTCDate());
}

/** 'YYYY-MM-DD HH:MM:SS' of epoch seconds in tz. */
export function formatDateTime(epochSec: number, tz: string | undefined): string {
  const local = epochSec + tzOffset(tz, epochSec);
  const days = Math.floor(local / 86400);
  const secs = local - days * 86400;
  return formatDays(days) + ' ' + pad2(Math.floor(secs / 3600)) + ':' + pad2(Math.floor(secs / 60) % 60) + ':' + pad2(secs % 60);
}

const DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

/** Days since epoch of 'YYYY-MM-DD'; undefined if malformed. */
export function parseDays(s: string): number | undefined {
  const m = DATE_RE.exec(s.trim());
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!);
  const d = new Date(t);
  if (d.getUTCMonth() !== +m[2]! - 1 || d.getUTCDate() !== +m[3]!) return undefined;
  return t / 86400000;
}

/**
 * Parse a date-time string: 'YYYY-MM-DD[ HH:MM[:SS[.fffffffff]]][Z|±HH:MM]'.
 * Without an explicit offset the time is wall-clock time in tz.
 * Returns [epoch seconds, fraction digits as written (padded by the caller)].
 */
export function parseDateTime(s: string, tz: string | undefined): [number, string] | undefined {
  const m = DATETIME_RE.exec(s.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', se = '0', frac = '', off] = m;
  const local = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +se) / 1000;
  const check = new Date(local * 1000);
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h > 23 || +mi > 59 || +se > 59) return undefined;
  let epoch: number;
  if (off === undefined) epoch = localToEpoch(tz, local);
  else if (off === 'Z') epoch = local;
  else {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    epoch = local - sign * (parseInt(digits.slice(0, 2), 10) * 3600 + parseInt(digits.slice(2), 10) * 60);
  }
  return [epoch, frac];
}

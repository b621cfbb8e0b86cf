// Time zone offsets via Intl (no tz database of our own) and proleptic-Gregorian
// calendar arithmetic (no Date.UTC: it maps years 0..99 to 1900..1999).
//
// Offsets are cached per hour bucket [k*3600, (k+1)*3600). A bucket is taken as
// uniform when the offsets at both ends agree; otherwise its one transition is
// found to the second by bisection. Exact unless a zone changed offset and back
// within one hour.

import { UnsupportedTypeError } from '../errors.js';

const BUCKET = 3600;
/** Offset lookups are clamped to this (seconds); beyond it Date cannot represent the instant. */
const MAX_LOOKUP = 8.64e12 - 2 * 86400;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    // Only the offset is read: 'GMT', 'GMT+05:30', 'GMT-00:44:30'.
    try {
      f = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'longOffset' });
    } catch (e) {
      // ClickHouse's tzdata has zones ICU lacks ('Factory', 'posixrules', 'localtime').
      throw new UnsupportedTypeError(
        `time zone '${tz}' is unknown to this JavaScript engine (Intl): its wall times cannot be computed here; read such values as instants (dates: 'Date') or numbers (dates: 'bigint')`,
        'CHWIRE_UNKNOWN_TIMEZONE',
        e,
      );
    }
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

const OFFSET_RE = /GMT(?:([+-])(\d{1,2}):(\d{2})(?::(\d{2}))?)?$/;

/** A time zone: exact UTC offsets with a bucket cache. */
class Zone {
  private readonly fmt: Intl.DateTimeFormat | undefined;
  /** Bucket → offset of a uniform bucket. */
  private readonly uniform = new Map<number, number>();
  /** Bucket → [first second of the new offset, offset before, offset after]. */
  private readonly split = new Map<number, [number, number, number]>();
  /** Seconds at bucket starts → offset (shared by neighbouring buckets). */
  private readonly points = new Map<number, number>();
  // Last uniform bucket hit: [lo, hi) has offset `off`.
  private lo = 1;
  private hi = 0;
  private off = 0;

  constructor(tz: string | undefined) {
    this.fmt = isUtc(tz) ? undefined : formatter(tz!);
  }

  /** Offset at one second, straight from Intl. */
  private exact(sec: number): number {
    const m = OFFSET_RE.exec(this.fmt!.format(sec * 1000));
    if (!m || m[1] === undefined) return 0;
    const v = +m[2]! * 3600 + +m[3]! * 60 + +(m[4] ?? 0);
    return m[1] === '-' ? -v : v;
  }

  private point(sec: number): number {
    let v = this.points.get(sec);
    if (v === undefined) {
      v = this.exact(sec);
      if (this.points.size > 100_000) this.points.clear();
      this.points.set(sec, v);
    }
    return v;
  }

  /** Seconds to add to UTC to get local wall time at the instant sec (an integer). */
  offset(sec: number): number {
    if (!this.fmt) return 0;
    if (sec >= this.lo && sec < this.hi) return this.off;
    if (sec > MAX_LOOKUP) sec = MAX_LOOKUP;
    else if (sec < -MAX_LOOKUP) sec = -MAX_LOOKUP;
    const k = Math.floor(sec / BUCKET);
    const u = this.uniform.get(k);
    if (u !== undefined) return this.remember(k, u);
    const s = this.split.get(k);
    if (s) return sec < s[0] ? s[1] : s[2];
    const start = k * BUCKET;
    const a = this.point(start);
    const b = this.point(start + BUCKET);
    if (this.uniform.size + this.split.size > 200_000) {
      this.uniform.clear();
      this.split.clear();
    }
    if (a === b) {
      this.uniform.set(k, a);
      return this.remember(k, a);
    }
    // Bisect for the first second with the new offset: exact(lo) = a, exact(hi) ≠ a.
    let lo = start;
    let hi = start + BUCKET;
    while (hi - lo > 1) {
      const mid = lo + Math.floor((hi - lo) / 2);
      if (this.exact(mid) === a) lo = mid;
      else hi = mid;
    }
    const after = this.exact(hi);
    this.split.set(k, [hi, a, after]);
    return sec < hi ? a : after;
  }

  private remember(k: number, off: number): number {
    this.lo = k * BUCKET;
    this.hi = this.lo + BUCKET;
    this.off = off;
    return off;
  }
}

const zones = new Map<string, Zone>();
const UTC_ZONE = new Zone(undefined);

function zoneOf(tz: string | undefined): Zone {
  if (isUtc(tz)) return UTC_ZONE;
  let z = zones.get(tz!);
  if (!z) {
    z = new Zone(tz);
    if (zones.size > 1000) zones.clear();
    zones.set(tz!, z);
  }
  return z;
}

/** Seconds to add to UTC to get local wall time in tz at the instant epochSec. */
export function tzOffset(tz: string | undefined, epochSec: number): number {
  return zoneOf(tz).offset(Math.floor(epochSec));
}

/** UTC epoch seconds of a local wall-clock time (seconds since epoch as if UTC) in tz. */
export function localToEpoch(tz: string | undefined, localSec: number): number {
  if (isUtc(tz)) return localSec;
  const z = zoneOf(tz);
  let guess = localSec - z.offset(localSec);
  guess = localSec - z.offset(guess);
  return guess;
}

const PAD2: string[] = Array.from({ length: 100 }, (_, i) => (i < 10 ? '0' : '') + i);
const PAD2C: string[] = PAD2.map((x) => x + ':');

/** Days since 1970-01-01 of a proleptic-Gregorian date (any year, month 1..12). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** 'YYYY-MM-DD' of a day number since 1970-01-01 (proleptic Gregorian). */
export function formatDays(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const ys = y >= 1000 ? '' + y : y >= 0 ? ('000' + y).slice(-4) : '-' + ('000' + -y).slice(-4);
  return ys + '-' + PAD2[m] + '-' + PAD2[d];
}

/** Local wall-clock seconds shown for DateTime64: ClickHouse clamps to 0000-01-01 00:00:00 .. 9999-12-31 23:59:59. */
export const MIN_LOCAL = -62167219200;
export const MAX_LOCAL = 253402300799;

/**
 * A formatter of epoch seconds (integers) as 'YYYY-MM-DD HH:MM:SS' in tz.
 * Local times outside years 0000..9999 are clamped to those ends, as ClickHouse prints them.
 */
export function dateTimeFormatter(tz: string | undefined): (epochSec: number) => string {
  const z = zoneOf(tz);
  // Memo of the last day and minute: one string concatenation per value in the common case.
  let lastDay = NaN;
  let lastDate = '';
  let lastMin = NaN;
  let lastPrefix = '';
  return (sec) => {
    let local: number;
    if (sec < MIN_LOCAL - 2 * 86400) local = MIN_LOCAL;
    else if (sec > MAX_LOCAL + 2 * 86400) local = MAX_LOCAL;
    else {
      local = sec + z.offset(sec);
      if (local < MIN_LOCAL) local = MIN_LOCAL;
      else if (local > MAX_LOCAL) local = MAX_LOCAL;
    }
    const min = Math.floor(local / 60);
    if (min !== lastMin) {
      lastMin = min;
      const day = Math.floor(min / 1440);
      if (day !== lastDay) {
        lastDay = day;
        lastDate = formatDays(day) + ' ';
      }
      const mod = min - day * 1440;
      const h = (mod / 60) | 0;
      lastPrefix = lastDate + PAD2C[h] + PAD2C[mod - h * 60];
    }
    return lastPrefix + PAD2[local - min * 60];
  };
}

/** 'YYYY-MM-DD HH:MM:SS' of epoch seconds in tz. */
export function formatDateTime(epochSec: number, tz: string | undefined): string {
  return dateTimeFormatter(tz)(epochSec);
}

const DATE_RE = /^(\d{4})-(\d{1,2})-(\d{1,2})$/;
const DATETIME_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/;

function validDate(y: number, m: number, d: number): boolean {
  if (m < 1 || m > 12 || d < 1) return false;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  return d <= (m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31);
}

/** Days since epoch of 'YYYY-MM-DD'; undefined if malformed. */
export function parseDays(s: string): number | undefined {
  const m = DATE_RE.exec(s.trim());
  if (!m) return undefined;
  const y = +m[1]!;
  const mo = +m[2]!;
  const d = +m[3]!;
  return validDate(y, mo, d) ? daysFromCivil(y, mo, d) : undefined;
}

/**
 * The zone in which DateTime strings without a zone of their own (column or text) are read on
 * insert: the server's, as the server itself would read them. Set for the (synchronous)
 * conversion of a block by withInsertZone(); undefined: UTC.
 */
let insertZone: string | undefined;

export function withInsertZone<T>(tz: string | undefined, f: () => T): T {
  const prev = insertZone;
  insertZone = tz;
  try {
    return f();
  } finally {
    insertZone = prev;
  }
}

/** A column's own zone, else the zone of the insert in progress. */
export function zoneForInsert(tz: string | undefined): string | undefined {
  return tz ?? insertZone;
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
  if (!validDate(+y!, +mo!, +d!) || +h > 23 || +mi > 59 || +se > 59) return undefined;
  const local = daysFromCivil(+y!, +mo!, +d!) * 86400 + +h * 3600 + +mi * 60 + +se;
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

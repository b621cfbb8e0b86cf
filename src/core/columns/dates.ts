// Date (UInt16 days), Date32 (Int32 days), DateTime (UInt32 seconds, optional
// timezone), DateTime64(p, tz) (Int64 ticks of 10^-p s). Time and Time64 live in time.ts.
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, type ValueOptions, type ValueReader, RowValueError, mapArray, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';
import { DecodeError } from '../errors.js';
import { MAX_LOCAL, MIN_LOCAL, dateTimeFormatter, formatDays, localToEpoch, parseDateTime, parseDays, zoneForInsert } from './timezone.js';

function quoteTz(tz: string): string {
  return "'" + tz.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

export function makeDateCodec(node: TypeNode): Codec<FixedData> {
  const is32 = node.name === 'Date32';
  const width = is32 ? 4 : 2;
  const ctor = (is32 ? Int32Array : Uint16Array) as unknown as TypedCtor;
  // Date32 spans 1900-01-01 .. 2299-12-31 (ClickHouse 22.8+).
  const min = is32 ? -25567 : 0;
  const max = is32 ? 120529 : 65535;
  const convert = (o: ValueOptions): ((days: number) => unknown) => (o.dates === 'Date' ? (x) => new Date(x * 86400000) : o.dates === 'bigint' ? BigInt : formatDays);
  const value = (days: number, o: ValueOptions): unknown => convert(o)(days);
  const reader = (d: FixedData, o: ValueOptions): ValueReader => {
    const t = typedOf<Int32Array>(d, ctor);
    const f = convert(o);
    return (i) => f(t[i]!);
  };
  return {
    typeName: node.name,
    node,
    readPrefix: noPrefix,
    ...fixedBody(width),
    length: (d) => d.rows,
    get: (d, i, o) => value(typedOf<Int32Array>(d, ctor)[i]!, o),
    reader,
    toArray: (d, o) => mapArray(d.rows, reader(d, o)),
    fromValues(values) {
      const n = values.length;
      const t = is32 ? new Int32Array(n) : new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let days: number | undefined;
        if (typeof v === 'string') days = parseDays(v);
        else if (v instanceof Date) days = Math.floor(v.getTime() / 86400000);
        else if (typeof v === 'number' && Number.isInteger(v)) days = v;
        else if (typeof v === 'bigint') days = Number(v);
        if (days === undefined || Number.isNaN(days)) throw new RowValueError(i, v, `not a date ('YYYY-MM-DD', Date or day number)`);
        if (days < min || days > max) throw new RowValueError(i, v, `out of range for ${node.name}`);
        t[i] = days;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => '1970-01-01',
  };
}

export function makeDateTimeCodec(node: TypeNode, tz: string | undefined): Codec<FixedData> {
  const typeName = tz === undefined ? 'DateTime' : `DateTime(${quoteTz(tz)})`;
  const u32 = Uint32Array as unknown as TypedCtor;
  const convert = (o: ValueOptions): ((sec: number) => unknown) => {
    switch (o.dates) {
      case 'string':
        return dateTimeFormatter(tz ?? o.serverTimezone);
      case 'bigint':
        return BigInt;
      default:
        return (x) => new Date(x * 1000);
    }
  };
  const reader = (d: FixedData, o: ValueOptions): ValueReader => {
    const t = typedOf<Uint32Array>(d, u32);
    const f = convert(o);
    return (i) => f(t[i]!);
  };
  return {
    typeName,
    node,
    readPrefix: noPrefix,
    ...fixedBody(4),
    length: (d) => d.rows,
    get: (d, i, o) => convert(o)(typedOf<Uint32Array>(d, u32)[i]!),
    reader,
    toArray: (d, o) => mapArray(d.rows, reader(d, o)),
    fromValues(values) {
      const n = values.length;
      const t = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let sec: number | undefined;
        if (v instanceof Date) sec = Math.floor(v.getTime() / 1000);
        else if (typeof v === 'number' && Number.isInteger(v)) sec = v;
        else if (typeof v === 'bigint') sec = Number(v);
        else if (typeof v === 'string') {
          const p = parseDateTime(v, zoneForInsert(tz));
          if (p) sec = p[0];
          else if (/^\d+$/.test(v.trim())) sec = Number(v.trim());
        }
        if (sec === undefined || Number.isNaN(sec)) throw new RowValueError(i, v, 'not a date-time (Date, epoch seconds or string)');
        if (sec < 0 || sec > 0xffffffff) throw new RowValueError(i, v, 'out of range for DateTime (1970-01-01 .. 2106-02-07)');
        t[i] = sec;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => new Date(0),
  };
}

/**
 * A formatter of ticks of 10^-p seconds as 'YYYY-MM-DD HH:MM:SS[.fff…]' in tz. Like ClickHouse,
 * wall times outside years 0000..9999 show as 0000-01-01 00:00:00 / 9999-12-31 23:59:59 with
 * the tick's own fraction.
 */
export function ticksFormatter(p: number, tz: string | undefined): (ticks: bigint) => string {
  const scale = 10n ** BigInt(p);
  const fmt = dateTimeFormatter(tz);
  return (ticks) => {
    let sec = ticks / scale;
    let frac = ticks % scale;
    if (frac < 0n) {
      frac += scale;
      sec -= 1n;
    }
    const base = fmt(Number(sec));
    return p === 0 ? base : base + '.' + frac.toString().padStart(p, '0');
  };
}

/** 'YYYY-MM-DD HH:MM:SS[.fff…]' of ticks of 10^-p seconds in tz. */
export function formatTicks(ticks: bigint, p: number, tz: string | undefined): string {
  return ticksFormatter(p, tz)(ticks);
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
/** A JS Date holds ±8.64e15 ms. */
const DATE_MAX_MS = 8.64e15;

export function makeDateTime64Codec(node: TypeNode, precision: number, tz: string | undefined): Codec<FixedData> {
  const typeName = tz === undefined ? `DateTime64(${precision})` : `DateTime64(${precision}, ${quoteTz(tz)})`;
  const i64 = BigInt64Array as unknown as TypedCtor;
  const scale = 10n ** BigInt(precision);
  const scaleNum = Number(scale);
  // Insert range: ticks whose wall time in the zone of the insert is 0000-01-01 00:00:00 ..
  // 9999-12-31 23:59:59.(9) and that fit Int64. 26.7 stores any of them as sent and prints them
  // back unchanged (it clamps the text of other ticks to those ends; parsing text it accepts the same
  // wall times and fails on Int64 overflow), so the range depends on the zone, not on UTC.
  let rangeZone: string | undefined | null = null;
  let range: [bigint, bigint, string] = [0n, 0n, ''];
  const rangeFor = (zone: string | undefined): [bigint, bigint, string] => {
    if (zone !== rangeZone) {
      const lo = BigInt(localToEpoch(zone, MIN_LOCAL)) * scale;
      const hi = BigInt(localToEpoch(zone, MAX_LOCAL)) * scale + scale - 1n;
      const min = lo > INT64_MIN ? lo : INT64_MIN;
      const max = hi < INT64_MAX ? hi : INT64_MAX;
      const msg = `out of range for ${typeName} (${formatTicks(min, precision, zone)} .. ${formatTicks(max, precision, zone)} ${zone ?? 'UTC'})`;
      rangeZone = zone;
      range = [min, max, msg];
    }
    return range;
  };
  const msDiv = precision >= 3 ? 10n ** BigInt(precision - 3) : 1n;
  const msMul = precision < 3 ? 10 ** (3 - precision) : 1;
  const beyondDate = (t: bigint): DecodeError =>
    new DecodeError(`${typeName} value ${t} (ticks) is beyond the range of a JS Date (±8.64e15 ms); read it with dates: 'string' or 'bigint'`, 'CHWIRE_VALUE_RANGE');
  const toDate = (t: bigint): Date => {
    let ms: number;
    if (precision === 3) ms = Number(t);
    else if (precision < 3) ms = Number(t) * msMul;
    else {
      let q = t / msDiv;
      if (t < 0n && t % msDiv !== 0n) q -= 1n;
      ms = Number(q);
    }
    // One range test per value: a Date beyond it would be Invalid Date.
    if (!(Math.abs(ms) <= DATE_MAX_MS)) throw beyondDate(t);
    return new Date(ms);
  };
  const convert = (o: ValueOptions): ((t: bigint) => unknown) => {
    const asString = o.dates === 'string' || ((o.dates === undefined || o.dates === 'default') && precision > 3);
    if (asString) return ticksFormatter(precision, tz ?? o.serverTimezone);
    return o.dates === 'bigint' ? (t) => t : toDate;
  };
  const reader = (d: FixedData, o: ValueOptions): ValueReader => {
    const t = typedOf<BigInt64Array>(d, i64);
    const f = convert(o);
    return (i) => f(t[i]!);
  };
  return {
    typeName,
    node,
    readPrefix: noPrefix,
    ...fixedBody(8),
    length: (d) => d.rows,
    get: (d, i, o) => convert(o)(typedOf<BigInt64Array>(d, i64)[i]!),
    reader,
    toArray: (d, o) => mapArray(d.rows, reader(d, o)),
    fromValues(values) {
      const n = values.length;
      const t = new BigInt64Array(n);
      const zone = zoneForInsert(tz);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let ticks: bigint | undefined;
        if (v instanceof Date) {
          const ms = v.getTime();
          if (!Number.isNaN(ms)) ticks = precision >= 3 ? BigInt(ms) * msDiv : BigInt(Math.floor(ms / msMul));
        } else if (typeof v === 'bigint') {
          // Raw ticks: Int64 first, then the same range as every other form.
          if (v < INT64_MIN || v > INT64_MAX) throw new RowValueError(i, v, `out of range for ${typeName} ticks (Int64)`);
          ticks = v;
        } else if (typeof v === 'number' && Number.isFinite(v)) {
          const x = Math.round(v * scaleNum);
          if (!Number.isFinite(x)) throw new RowValueError(i, v, rangeFor(zone)[2]);
          ticks = BigInt(x);
        } else if (typeof v === 'string') {
          const p = parseDateTime(v, zone);
          if (p) {
            const frac = p[1].slice(0, precision).padEnd(precision, '0');
            if (/[1-9]/.test(p[1].slice(precision))) throw new RowValueError(i, v, `has more than ${precision} fractional digits`);
            ticks = BigInt(p[0]) * scale + (precision ? BigInt(frac) : 0n);
          }
        }
        if (ticks === undefined) throw new RowValueError(i, v, 'not a date-time (Date, string, epoch seconds or bigint ticks)');
        const [min, max, msg] = rangeFor(zone);
        if (ticks < min || ticks > max) throw new RowValueError(i, v, msg);
        t[i] = ticks;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => 0n,
  };
}

// Date (UInt16 days), Date32 (Int32 days), DateTime (UInt32 seconds, optional
// timezone), DateTime64(p, tz) (Int64 ticks of 10^-p s). Time and Time64 live in time.ts.
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, type ValueOptions, type ValueReader, RowValueError, mapArray, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';
import { dateTimeFormatter, formatDays, parseDateTime, parseDays, zoneForInsert } from './timezone.js';

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

/** DateTime64's documented range, in UTC epoch seconds: 1900-01-01 00:00:00 .. 2300-01-01 00:00:00 (exclusive). */
const DT64_MIN_SEC = -2208988800n;
const DT64_END_SEC = 10413792000n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

export function makeDateTime64Codec(node: TypeNode, precision: number, tz: string | undefined): Codec<FixedData> {
  const typeName = tz === undefined ? `DateTime64(${precision})` : `DateTime64(${precision}, ${quoteTz(tz)})`;
  const i64 = BigInt64Array as unknown as TypedCtor;
  const scale = 10n ** BigInt(precision);
  const scaleNum = Number(scale);
  // Dates, strings and numbers must fall in the documented range (for precision 9, Int64 ends at 2262-04-11).
  const minTicks = DT64_MIN_SEC * scale;
  const maxTicks = DT64_END_SEC * scale - 1n < INT64_MAX ? DT64_END_SEC * scale - 1n : INT64_MAX;
  const rangeMsg = `out of range for ${typeName} (${formatTicks(minTicks, precision, undefined)} .. ${formatTicks(maxTicks, precision, undefined)} UTC)`;
  const msDiv = precision >= 3 ? 10n ** BigInt(precision - 3) : 1n;
  const msMul = precision < 3 ? 10 ** (3 - precision) : 1;
  const toDate = (t: bigint): Date => {
    if (precision >= 3) {
      let ms = t / msDiv;
      if (t < 0n && t % msDiv !== 0n) ms -= 1n;
      return new Date(Number(ms));
    }
    return new Date(Number(t) * msMul);
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
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let ticks: bigint | undefined;
        if (v instanceof Date) {
          const ms = v.getTime();
          if (!Number.isNaN(ms)) ticks = precision >= 3 ? BigInt(ms) * msDiv : BigInt(Math.floor(ms / msMul));
        } else if (typeof v === 'bigint') {
          // Raw ticks: only Int64 is enforced, so whatever the server stores round-trips.
          if (v < INT64_MIN || v > INT64_MAX) throw new RowValueError(i, v, `out of range for ${typeName} ticks (Int64)`);
          t[i] = v;
          continue;
        } else if (typeof v === 'number' && Number.isFinite(v)) {
          const x = Math.round(v * scaleNum);
          if (!Number.isFinite(x)) throw new RowValueError(i, v, rangeMsg);
          ticks = BigInt(x);
        } else if (typeof v === 'string') {
          const p = parseDateTime(v, zoneForInsert(tz));
          if (p) {
            const frac = p[1].slice(0, precision).padEnd(precision, '0');
            if (/[1-9]/.test(p[1].slice(precision))) throw new RowValueError(i, v, `has more than ${precision} fractional digits`);
            ticks = BigInt(p[0]) * scale + (precision ? BigInt(frac) : 0n);
          }
        }
        if (ticks === undefined) throw new RowValueError(i, v, 'not a date-time (Date, string, epoch seconds or bigint ticks)');
        if (ticks < minTicks || ticks > maxTicks) throw new RowValueError(i, v, rangeMsg);
        t[i] = ticks;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => 0n,
  };
}

// Decimal(P, S): a scaled integer of 32/64/128/256 bits by P ≤ 9/18/38/76.
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { TypeParseError } from '../errors.js';
import { type Codec, type ValueOptions, RowValueError, noPrefix, mapArray } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';
import { readBigLE, writeBigLE } from './ints.js';

export function decimalWidth(precision: number): number {
  return precision <= 9 ? 4 : precision <= 18 ? 8 : precision <= 38 ? 16 : 32;
}

/** Exact decimal text of an integer scaled by 10^scale. */
export function formatDecimal(v: bigint, scale: number): string {
  if (scale === 0) return v.toString();
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString();
  if (digits.length <= scale) digits = '0'.repeat(scale - digits.length + 1) + digits;
  const cut = digits.length - scale;
  return (neg ? '-' : '') + digits.slice(0, cut) + '.' + digits.slice(cut);
}

const DECIMAL_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Parse decimal text exactly to an integer scaled by 10^scale; rounds half away from zero when `round`. */
export function parseDecimal(text: string, scale: number, round: boolean): bigint | string {
  const m = DECIMAL_RE.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] === undefined || m[3] === ''))) return 'not a decimal number';
  const sign = m[1] === '-' ? -1n : 1n;
  let intPart = m[2]!;
  let frac = m[3] ?? '';
  let exp = m[4] ? parseInt(m[4], 10) : 0;
  if (Math.abs(exp) > 1000) return 'exponent out of range';
  // Shift the decimal point by the exponent.
  while (exp > 0) {
    intPart += frac[0] ?? '0';
    frac = frac.slice(1);
    exp--;
  }
  while (exp < 0) {
    frac = (intPart.slice(-1) || '0') + frac;
    intPart = intPart.slice(0, -1);
    exp++;
  }
  let kept = frac.slice(0, scale).padEnd(scale, '0');
  const dropped = frac.slice(scale);
  let v = BigInt((intPart || '0') + kept);
  if (/[1-9]/.test(dropped)) {
    if (!round) return `has more than ${scale} fractional digits`;
    if (dropped[0]! >= '5') v += 1n;
  }
  void kept;
  return sign * v;
}

export function makeDecimalCodec(node: TypeNode, precision: number, scale: number): Codec<FixedData> {
  if (!(precision >= 1 && precision <= 76) || !(scale >= 0 && scale <= precision))
    throw new TypeParseError(`invalid Decimal precision/scale in 'Decimal(${precision}, ${scale})'`);
  const width = decimalWidth(precision);
  const typeName = `Decimal(${precision}, ${scale})`;
  const limit = 10n ** BigInt(precision);
  const scaleMul = 10n ** BigInt(scale);
  const ctor = (width === 4 ? Int32Array : width === 8 ? BigInt64Array : undefined) as unknown as TypedCtor | undefined;

  const raw = (d: FixedData, i: number): bigint =>
    ctor ? BigInt(typedOf<ArrayLike<number | bigint>>(d, ctor)[i]!) : readBigLE(d.bytes, i * width, width, true);

  const value = (v: bigint, o: ValueOptions): unknown => {
    switch (o.decimal) {
      case 'bigint':
        return v;
      case 'number':
        return Number(formatDecimal(v, scale));
      default:
        return formatDecimal(v, scale);
    }
  };

  return {
    typeName,
    node,
    readPrefix: noPrefix,
    ...fixedBody(width),
    length: (d) => d.rows,
    get: (d, i, o) => value(raw(d, i), o),
    toArray(d, o) {
      return mapArray(d.rows, (i) => value(raw(d, i), o));
    },
    fromValues(values) {
      const n = values.length;
      const bytes = new Uint8Array(n * width);
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        let x: bigint | string;
        if (typeof v === 'bigint') x = v * scaleMul;
        else if (typeof v === 'number') {
          if (!Number.isFinite(v)) throw new RowValueError(i, v, 'not a finite number');
          x = parseDecimal(v.toString(), scale, true);
        } else if (typeof v === 'string') x = parseDecimal(v, scale, false);
        else x = 'not a decimal number or string';
        if (typeof x === 'string') throw new RowValueError(i, v, x);
        if (x <= -limit || x >= limit) throw new RowValueError(i, v, `out of range for ${typeName}`);
        if (width === 4) dv.setInt32(i * 4, Number(x), true);
        else if (width === 8) dv.setBigInt64(i * 8, x, true);
        else writeBigLE(bytes, i * width, width, x);
      }
      return { bytes, rows: n };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => '0',
  };
}

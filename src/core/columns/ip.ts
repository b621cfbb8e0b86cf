// IPv4: UInt32 LE. IPv6: 16 bytes in network order. Values are canonical text.
import type { Writer } from '../io/writer.js';
import type { TypeNode } from '../types/type-node.js';
import { type Codec, RowValueError, noPrefix } from './column.js';
import { type FixedData, type TypedCtor, typedOf, writeFixed, fixedBody } from './fixed.js';

export function formatIPv4(v: number): string {
  return (v >>> 24) + '.' + ((v >>> 16) & 255) + '.' + ((v >>> 8) & 255) + '.' + (v & 255);
}

export function parseIPv4(s: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return undefined;
  let v = 0;
  for (let k = 1; k <= 4; k++) {
    const p = +m[k]!;
    if (p > 255) return undefined;
    v = v * 256 + p;
  }
  return v;
}

/** RFC 5952 text, with IPv4-mapped addresses as ::ffff:a.b.c.d (as ClickHouse prints them). */
export function formatIPv6(b: Uint8Array, off: number): string {
  const words = new Array<number>(8);
  for (let k = 0; k < 8; k++) words[k] = (b[off + 2 * k]! << 8) | b[off + 2 * k + 1]!;
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0 && words[4] === 0 && words[5] === 0xffff) {
    return '::ffff:' + b[off + 12] + '.' + b[off + 13] + '.' + b[off + 14] + '.' + b[off + 15];
  }
  // Longest run (≥ 2) of zero words becomes '::'.
  let bestStart = -1;
  let bestLen = 0;
  for (let k = 0; k < 8; ) {
    if (words[k] !== 0) {
      k++;
      continue;
    }
    let j = k;
    while (j < 8 && words[j] === 0) j++;
    if (j - k > bestLen) {
      bestStart = k;
      bestLen = j - k;
    }
    k = j;
  }
  if (bestLen < 2) bestStart = -1;
  // IPv4-compatible (exactly the first six words zero): ClickHouse prints '::a.b.c.d'.
  if (bestStart === 0 && bestLen === 6) return '::' + b[off + 12] + '.' + b[off + 13] + '.' + b[off + 14] + '.' + b[off + 15];
  let s = '';
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      s += '::';
      k += bestLen - 1;
      continue;
    }
    if (s !== '' && !s.endsWith(':')) s += ':';
    s += words[k]!.toString(16);
  }
  return s;
}

export function parseIPv6Into(s: string, dst: Uint8Array, off: number): boolean {
  let text = s;
  const tail: number[] = [];
  const v4 = /(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/.exec(text);
  if (v4) {
    const v = parseIPv4(v4[1]!);
    if (v === undefined) return false;
    tail.push(v >>> 16, v & 0xffff);
    text = text.slice(0, -v4[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
    if (text === '') return false;
  }
  const halves = text.split('::');
  if (halves.length > 2) return false;
  const parse = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    for (const h of part.split(':')) {
      if (!/^[0-9a-f]{1,4}$/i.test(h)) return undefined;
      out.push(parseInt(h, 16));
    }
    return out;
  };
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !rest) return false;
  const total = head.length + rest.length + tail.length;
  let words: number[];
  if (halves.length === 2) {
    if (total > 7) return false;
    words = [...head, ...new Array<number>(8 - total).fill(0), ...rest, ...tail];
  } else {
    if (total !== 8) return false;
    words = [...head, ...tail];
  }
  for (let k = 0; k < 8; k++) {
    dst[off + 2 * k] = words[k]! >> 8;
    dst[off + 2 * k + 1] = words[k]! & 255;
  }
  return true;
}

export function makeIPv4Codec(node: TypeNode): Codec<FixedData> {
  const u32 = Uint32Array as unknown as TypedCtor;
  return {
    typeName: 'IPv4',
    node,
    readPrefix: noPrefix,
    ...fixedBody(4),
    length: (d) => d.rows,
    get: (d, i) => formatIPv4(typedOf<Uint32Array>(d, u32)[i]!),
    toArray: (d) => Array.from(typedOf<Uint32Array>(d, u32), formatIPv4),
    fromValues(values) {
      const n = values.length;
      const t = new Uint32Array(n);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        const x = typeof v === 'string' ? parseIPv4(v.trim()) : typeof v === 'number' && v >= 0 && v <= 0xffffffff && Number.isInteger(v) ? v : undefined;
        if (x === undefined) throw new RowValueError(i, v, 'not an IPv4 address');
        t[i] = x;
      }
      return { bytes: new Uint8Array(t.buffer), rows: n, typed: t };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => '0.0.0.0',
  };
}

export function makeIPv6Codec(node: TypeNode): Codec<FixedData> {
  return {
    typeName: 'IPv6',
    node,
    readPrefix: noPrefix,
    ...fixedBody(16),
    length: (d) => d.rows,
    get: (d, i) => formatIPv6(d.bytes, i * 16),
    toArray: (d) => Array.from({ length: d.rows }, (_, i) => formatIPv6(d.bytes, i * 16)),
    fromValues(values) {
      const n = values.length;
      const bytes = new Uint8Array(n * 16);
      for (let i = 0; i < n; i++) {
        const v = values[i];
        if (v instanceof Uint8Array && v.length === 16) bytes.set(v, i * 16);
        else if (typeof v !== 'string' || !parseIPv6Into(v.trim(), bytes, i * 16)) {
          const v4 = typeof v === 'string' ? parseIPv4(v.trim()) : undefined;
          if (v4 === undefined) throw new RowValueError(i, v, 'not an IPv6 address');
          // A bare IPv4 address maps to ::ffff:a.b.c.d, as ClickHouse does.
          bytes[i * 16 + 10] = 0xff;
          bytes[i * 16 + 11] = 0xff;
          new DataView(bytes.buffer).setUint32(i * 16 + 12, v4, false);
        }
      }
      return { bytes, rows: n };
    },
    writePrefix: noPrefix,
    encode: (w: Writer, d) => writeFixed(w, d),
    defaultValue: () => '::',
  };
}

// Shared pieces of packet codecs: the settings list, bounded strings, and the
// all-or-nothing wrapper that keeps decoders free of side effects on NEED_MORE.

import { Cursor } from '../io/cursor.js';
import { Writer } from '../io/writer.js';
import { isNeedMore, LimitError, ProtocolError } from '../errors.js';
import { has } from './revision.js';
import { SettingFlags } from './codes.js';

/** One entry of a settings list (also used for query parameters and server settings). */
export interface Setting {
  name: string;
  /** Wire text of the value (for parameters: a quoted field dump, see params.ts). */
  value: string;
  /** SettingFlags bits; 0 when omitted. */
  flags?: number;
}

/** Helpers over Setting.flags. */
export function settingIsImportant(s: Setting): boolean {
  return ((s.flags ?? 0) & SettingFlags.IMPORTANT) !== 0;
}
export function settingIsCustom(s: Setting): boolean {
  return ((s.flags ?? 0) & SettingFlags.CUSTOM) !== 0;
}
export function settingIsObsolete(s: Setting): boolean {
  return ((s.flags ?? 0) & SettingFlags.TIER_MASK) === SettingFlags.OBSOLETE;
}

/**
 * Run a decoder; if it runs out of bytes, put the cursor back where it was
 * and rethrow NEED_MORE (wantPos is kept), so callers can simply retry.
 */
export function atomically<T>(c: Cursor, decode: (c: Cursor) => T): T {
  const start = c.pos;
  try {
    return decode(c);
  } catch (e) {
    if (isNeedMore(e)) c.pos = start;
    throw e;
  }
}

/** Hello strings are capped by the server (DBMS_MAX_HELLO_STRING_SIZE). */
export const MAX_HELLO_STRING_BYTES = 4096;
/** DBMS_MAX_PASSWORD_COMPLEXITY_RULES. */
export const MAX_PASSWORD_RULES = 256;
/** Bound on list lengths we accept in small packets (tables, roles, settings, uuids). */
export const MAX_LIST_ITEMS = 1_000_000;
/** Bound on the depth of a nested Exception chain. */
export const MAX_EXCEPTION_DEPTH = 64;

export function boundedString(c: Cursor, max: number, what: string): string {
  const start = c.pos;
  const n = c.varuint(what);
  if (n > max) throw new LimitError(`${what} length ${n} exceeds ${max}`);
  c.pos = start;
  return c.string(what);
}

export function listLength(c: Cursor, max: number, what: string): number {
  const n = c.varuint(what);
  if (n > max) throw new LimitError(`${what} count ${n} exceeds ${max}`);
  return n;
}

/**
 * A settings list: (name, varuint flags, value string)* then an empty name.
 * Below 54429 ClickHouse writes settings binary-typed (no flags); chwire sends
 * none there (only the terminator) and refuses to read a non-empty binary list.
 */
export function writeSettings(w: Writer, settings: readonly Setting[], rev: number): void {
  if (has(rev, 'DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS')) {
    for (const s of settings) {
      if (s.name === '') throw new ProtocolError('a setting name must not be empty', 'CHWIRE_BAD_SETTING');
      w.string(s.name);
      w.varuint(s.flags ?? 0);
      w.string(s.value);
    }
  }
  w.u8(0);
}

export function readSettings(c: Cursor, rev: number, what = 'settings'): Setting[] {
  const out: Setting[] = [];
  for (;;) {
    const name = c.string(`${what} name`);
    if (name === '') return out;
    if (!has(rev, 'DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS')) {
      throw new ProtocolError(
        `binary-typed ${what} (revision ${rev} < 54429) cannot be decoded: '${name}'`,
        'CHWIRE_UNSUPPORTED_SETTINGS_FORMAT',
      );
    }
    if (out.length >= MAX_LIST_ITEMS) throw new LimitError(`too many ${what}`);
    const flags = c.varuint(`${what} flags`);
    const value = c.string(`${what} value`);
    out.push({ name, value, flags });
  }
}

/** A list of strings as ClickHouse's writeVectorBinary: varuint count + strings. */
export function writeStringList(w: Writer, items: readonly string[]): void {
  w.varuint(items.length);
  for (const s of items) w.string(s);
}
export function readStringList(c: Cursor, what: string): string[] {
  const n = listLength(c, MAX_LIST_ITEMS, what);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(c.string(what));
  return out;
}

const HEX = '0123456789abcdef';
export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX[b[i]! >> 4]! + HEX[b[i]! & 15]!;
  return s;
}
export function hexToBytes(hex: string, n: number, what: string): Uint8Array {
  if (hex.length !== n * 2 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new ProtocolError(`${what} must be ${n * 2} hex digits`, 'CHWIRE_BAD_VALUE');
  }
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}
/** Reverse each 8-byte group (ClickHouse writes ids as little-endian UInt64 halves). */
export function swap64(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length);
  for (let g = 0; g < b.length; g += 8) for (let i = 0; i < 8; i++) out[g + i] = b[g + 7 - i]!;
  return out;
}

// Type → codec. Codecs are chosen by the exact family name from the parsed
// tree (never by string prefix), with arguments taken from the tree.
import { TypeParseError, UnsupportedTypeError } from '../errors.js';
import { parseType, printType, backQuoteIfNeed, typeArgNumber, typeArgString, typeArgType, expectArgCount } from '../types/index.js';
import type { TypeNode } from '../types/type-node.js';
import type { AnyCodec } from './column.js';
import { makeIntCodec, isIntFamily } from './ints.js';
import { makeFloatCodec, makeBFloat16Codec, makeBoolCodec } from './floats.js';
import { makeDecimalCodec } from './decimal.js';
import { makeDateCodec, makeDateTimeCodec, makeDateTime64Codec } from './dates.js';
import { makeStringCodec } from './string.js';
import { makeFixedStringCodec } from './fixed-string.js';
import { makeUuidCodec } from './uuid.js';
import { makeIPv4Codec, makeIPv6Codec } from './ip.js';
import { makeEnumCodec } from './enum.js';
import { makeNothingCodec } from './nothing.js';
import { makeIntervalCodec, INTERVAL_KINDS } from './interval.js';
import { makeNullableCodec } from './nullable.js';
import { makeArrayCodec } from './array.js';
import { makeTupleCodec } from './tuple.js';
import { makeMapCodec } from './map.js';
import { makeLowCardinalityCodec } from './low-cardinality.js';
import { makeJsonCodec } from './json.js';
import { makeVariantCodec, variantMemberCodecs } from './variant.js';
import { makeDynamicCodec } from './dynamic.js';
import { makeGeoCodec } from './geo.js';
import { makeQBitCodec } from './qbit.js';
import { makeTimeCodec } from './time.js';
import { makeAggregateFunctionCodec } from './aggregate-function.js';

/** Case-insensitive SQL aliases ClickHouse accepts in DDL (the server always sends canonical names). */
const ALIASES: Record<string, string> = {
  BOOLEAN: 'Bool',
  BOOL: 'Bool',
  TINYINT: 'Int8',
  INT1: 'Int8',
  BYTE: 'Int8',
  SMALLINT: 'Int16',
  INT: 'Int32',
  INTEGER: 'Int32',
  MEDIUMINT: 'Int32',
  BIGINT: 'Int64',
  FLOAT: 'Float32',
  REAL: 'Float32',
  SINGLE: 'Float32',
  DOUBLE: 'Float64',
  'DOUBLE PRECISION': 'Float64',
  TEXT: 'String',
  VARCHAR: 'String',
  CHAR: 'String',
  BLOB: 'String',
  LONGTEXT: 'String',
  MEDIUMTEXT: 'String',
  TINYTEXT: 'String',
  BINARY: 'FixedString',
  TIMESTAMP: 'DateTime',
  DEC: 'Decimal',
  NUMERIC: 'Decimal',
  FIXED: 'Decimal',
};

/** Extension point for type families defined outside this file (Variant, Dynamic, ...). */
export type FamilyFactory = (node: TypeNode, build: (node: TypeNode) => AnyCodec) => AnyCodec;
const families = new Map<string, FamilyFactory>();

export function registerFamily(name: string, factory: FamilyFactory): void {
  families.set(name, factory);
}

function tupleTypeName(node: TypeNode, elements: AnyCodec[], names: (string | undefined)[]): string {
  const parts = elements.map((e, i) => (names[i] ? `${backQuoteIfNeed(names[i]!)} ${e.typeName}` : e.typeName));
  return `${node.name}(${parts.join(', ')})`;
}

/** Build the codec for a parsed type. */
export function buildCodec(node: TypeNode, depth = 0): AnyCodec {
  if (depth > 300) throw new TypeParseError(`type nesting deeper than 300 in '${printType(node)}'`);
  const build = (n: TypeNode) => buildCodec(n, depth + 1);
  let name = node.name;
  const alias = ALIASES[name.toUpperCase()];
  if (alias) name = alias;
  if (isIntFamily(name)) return makeIntCodec({ ...node, name });
  const ext = families.get(name);
  if (ext) return ext(node, build);
  switch (name) {
    case 'Float32':
    case 'Float64':
      return makeFloatCodec({ ...node, name });
    case 'BFloat16':
      return makeBFloat16Codec(node);
    case 'Bool':
      return makeBoolCodec(node);
    case 'String':
      return makeStringCodec(node);
    case 'FixedString':
      expectArgCount(node, 1);
      return makeFixedStringCodec(node, typeArgNumber(node, 0));
    case 'UUID':
      return makeUuidCodec(node);
    case 'IPv4':
      return makeIPv4Codec(node);
    case 'IPv6':
      return makeIPv6Codec(node);
    case 'Date':
    case 'Date32':
      return makeDateCodec(node);
    case 'DateTime':
      expectArgCount(node, 0, 1);
      return makeDateTimeCodec(node, node.args.length ? typeArgString(node, 0) : undefined);
    case 'DateTime64':
      expectArgCount(node, 1, 2);
      return makeDateTime64Codec(node, checkPrecision(node, typeArgNumber(node, 0)), node.args.length > 1 ? typeArgString(node, 1) : undefined);
    case 'Decimal':
      expectArgCount(node, 1, 2);
      return makeDecimalCodec(node, typeArgNumber(node, 0), node.args.length > 1 ? typeArgNumber(node, 1) : 0);
    case 'Decimal32':
    case 'Decimal64':
    case 'Decimal128':
    case 'Decimal256': {
      expectArgCount(node, 1);
      const p = { Decimal32: 9, Decimal64: 18, Decimal128: 38, Decimal256: 76 }[name];
      return makeDecimalCodec(node, p, typeArgNumber(node, 0));
    }
    case 'Enum8':
    case 'Enum16':
      return makeEnumCodec(node, printType(node));
    case 'Enum': {
      // Enum without width: Enum8 when every value fits.
      const fits8 = node.args.every((a) => a.kind === 'enum' && a.value >= -128 && a.value <= 127);
      const n2 = { ...node, name: fits8 ? 'Enum8' : 'Enum16' };
      return makeEnumCodec(n2, printType(n2));
    }
    case 'Nothing':
      return makeNothingCodec(node);
    case 'Nullable': {
      expectArgCount(node, 1);
      return makeNullableCodec(node, build(typeArgType(node, 0)));
    }
    case 'Array':
      expectArgCount(node, 1);
      return makeArrayCodec(node, build(typeArgType(node, 0)));
    case 'Tuple': {
      const elements: AnyCodec[] = [];
      const names: (string | undefined)[] = [];
      for (let i = 0; i < node.args.length; i++) {
        elements.push(build(typeArgType(node, i)));
        const a = node.args[i]!;
        names.push(a.kind === 'type' ? a.name : undefined);
      }
      return makeTupleCodec(node, tupleTypeName(node, elements, names), elements, names);
    }
    case 'Map':
      expectArgCount(node, 2);
      return makeMapCodec(node, build(typeArgType(node, 0)), build(typeArgType(node, 1)));
    case 'LowCardinality': {
      expectArgCount(node, 1);
      const inner = typeArgType(node, 0);
      const nullable = inner.name === 'Nullable';
      const dict = build(nullable ? typeArgType(inner, 0) : inner);
      const innerName = nullable ? `Nullable(${dict.typeName})` : dict.typeName;
      return makeLowCardinalityCodec(node, `LowCardinality(${innerName})`, dict, nullable);
    }
    case 'SimpleAggregateFunction': {
      if (node.args.length < 2) throw new TypeParseError(`'${printType(node)}' needs a function and a type`);
      const inner = build(typeArgType(node, node.args.length - 1));
      return { ...inner, typeName: printType(node), node };
    }
    case 'JSON':
      return makeJsonCodec(node, printType(node), build);
    case 'Object':
      throw new UnsupportedTypeError(
        `'${printType(node)}' (the old experimental Object('json') type) is not supported: ClickHouse 26.x no longer has it; use JSON`,
      );
    case 'Variant': {
      const members = variantMemberCodecs(node, build);
      const sorted = [...new Set(members.map((m) => m.typeName))].sort(compareNames);
      return makeVariantCodec(node, `Variant(${sorted.join(', ')})`, members);
    }
    case 'Dynamic':
      return makeDynamicCodec(node);
    case 'Point':
    case 'Ring':
    case 'LineString':
    case 'MultiLineString':
    case 'Polygon':
    case 'MultiPolygon':
    case 'Geometry':
      expectArgCount(node, 0);
      return makeGeoCodec(name);
    case 'QBit': {
      expectArgCount(node, 2);
      return makeQBitCodec(node, typeArgType(node, 0).name, typeArgNumber(node, 1));
    }
    case 'Time':
      expectArgCount(node, 0);
      return makeTimeCodec(node, undefined);
    case 'Time64':
      expectArgCount(node, 1);
      return makeTimeCodec(node, typeArgNumber(node, 0));
    case 'Nested': {
      // Nested(a T, b U) as one column (flatten_nested = 0) is Array(Tuple(a T, b U)) on the wire.
      const elements: AnyCodec[] = [];
      const names: string[] = [];
      for (let i = 0; i < node.args.length; i++) {
        const a = node.args[i]!;
        if (a.kind !== 'type' || !a.name) throw new TypeParseError(`'${printType(node)}': Nested elements need names`);
        elements.push(build(a.type));
        names.push(a.name);
      }
      const tupleName = tupleTypeName({ ...node, name: 'Tuple' }, elements, names);
      const arr = makeArrayCodec(node, makeTupleCodec({ ...node, name: 'Tuple' }, tupleName, elements, names));
      return { ...arr, typeName: 'Nested' + tupleName.slice(5), node };
    }
    case 'AggregateFunction': {
      if (node.args.length < 1) throw new TypeParseError(`'${printType(node)}' needs a function`);
      return makeAggregateFunctionCodec(node, printType(node));
    }
  }
  if (name.startsWith('Interval') && (INTERVAL_KINDS as readonly string[]).includes(name.slice(8))) return makeIntervalCodec(node);
  throw new UnsupportedTypeError(`unsupported ClickHouse type '${printType(node)}'`);
}

/** Bytewise (UTF-8) order, as DataTypeVariant sorts its alternatives. */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkPrecision(node: TypeNode, p: number): number {
  if (p < 0 || p > 9) throw new TypeParseError(`precision ${p} out of range 0..9 in '${printType(node)}'`);
  return p;
}

/**
 * A cache of codecs by type name text, owned by one reader/writer (no
 * module-global mutable state). Type names repeat in every block.
 */
export class CodecCache {
  private readonly map = new Map<string, AnyCodec>();
  get(typeName: string): AnyCodec {
    let c = this.map.get(typeName);
    if (!c) {
      c = buildCodec(parseType(typeName));
      if (this.map.size > 10_000) this.map.clear();
      this.map.set(typeName, c);
    }
    return c;
  }
}

export function codecForType(type: string | TypeNode): AnyCodec {
  return buildCodec(typeof type === 'string' ? parseType(type) : type);
}

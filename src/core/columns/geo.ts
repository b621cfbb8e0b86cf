// Geo types: custom names over structural types [DataTypeCustomGeo.cpp]:
// Point = Tuple(Float64, Float64) → [x, y]; Ring, LineString = Array(Point);
// Polygon, MultiLineString = Array(Ring); MultiPolygon = Array(Polygon);
// Geometry = Variant(LineString, MultiLineString, MultiPolygon, Point, Polygon, Ring)
// (discriminators in that order). The wire layout is the structural type's; the
// column keeps the custom name.
import type { TypeNode } from '../types/type-node.js';
import type { AnyCodec } from './column.js';
import { makeArrayCodec } from './array.js';
import { makeTupleCodec } from './tuple.js';
import { makeFloatCodec } from './floats.js';
import { makeVariantCodec } from './variant.js';

export const GEO_TYPES = ['Point', 'Ring', 'LineString', 'MultiLineString', 'Polygon', 'MultiPolygon', 'Geometry'] as const;

const plain = (name: string): TypeNode => ({ name, args: [], hasParens: false });

function named(codec: AnyCodec, name: string): AnyCodec {
  return { ...codec, typeName: name, node: plain(name) };
}

export function makeGeoCodec(name: string): AnyCodec {
  const f64 = makeFloatCodec(plain('Float64'));
  const point = named(makeTupleCodec(plain('Tuple'), 'Tuple(Float64, Float64)', [f64, f64], [undefined, undefined]), 'Point');
  const arrayOf = (inner: AnyCodec, n: string) => named(makeArrayCodec(plain('Array'), inner), n);
  const ring = arrayOf(point, 'Ring');
  const line = arrayOf(point, 'LineString');
  const polygon = arrayOf(ring, 'Polygon');
  const multiLine = arrayOf(line, 'MultiLineString');
  const multiPolygon = arrayOf(polygon, 'MultiPolygon');
  switch (name) {
    case 'Point':
      return point;
    case 'Ring':
      return ring;
    case 'LineString':
      return line;
    case 'Polygon':
      return polygon;
    case 'MultiLineString':
      return multiLine;
    case 'MultiPolygon':
      return multiPolygon;
  }
  return named(makeVariantCodec(plain('Variant'), 'Geometry', [line, multiLine, multiPolygon, point, polygon, ring]), 'Geometry');
}

/**
 * A parsed ClickHouse type name. `name` is the type family exactly as
 * ClickHouse spells it (case preserved after alias resolution is NOT done:
 * the parser keeps what was written; the registry resolves case-insensitive
 * aliases). `args` are the parenthesised arguments in order; a type written
 * without parentheses has `args.length === 0` and `hasParens === false`.
 */
export interface TypeNode {
  name: string;
  args: TypeArg[];
  /** True when the name was followed by parentheses, e.g. `Tuple()` vs `Tuple`. */
  hasParens: boolean;
}

export type TypeArg =
  /** A nested type; `name` for named elements: Tuple(a UInt8), Nested(a UInt32), JSON(a.b UInt32). */
  | { kind: 'type'; type: TypeNode; name?: string }
  /** A numeric literal, kept as written: FixedString(16), Decimal(9, 2), quantiles(0.5). */
  | { kind: 'number'; value: string }
  /** A quoted string literal, unescaped: DateTime('UTC'), Object('json'). */
  | { kind: 'string'; value: string }
  /** An enum element: Enum8('a' = 1). */
  | { kind: 'enum'; name: string; value: number }
  /**
   * A function inside AggregateFunction / SimpleAggregateFunction, e.g. `uniq`,
   * `quantiles(0.5, 0.9)`, `sumMap`. `params` holds parenthesised parameters
   * (numbers, strings, ...), `hasParens` whether parentheses were written.
   */
  | { kind: 'function'; name: string; params: TypeArg[]; hasParens: boolean }
  /** A `name=value` setting: Dynamic(max_types=8), JSON(max_dynamic_paths=10). */
  | { kind: 'setting'; name: string; value: string }
  /** JSON skip clause: SKIP a.b, or SKIP REGEXP 'pattern'. */
  | { kind: 'skip'; path: string; regexp: boolean };

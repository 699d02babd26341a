/**
 * A small JSON Schema checker for stage outputs: the subset `z.toJSONSchema()` emits (type,
 * properties, required, additionalProperties, items/prefixItems, enum, const, anyOf/oneOf/allOf,
 * numeric and length bounds, pattern, local `$ref`). Unknown keywords (format, description...)
 * are ignored, so a schema never fails a value for a reason this checker cannot explain.
 * The agent bundles no schema library: this is the whole of it.
 */

type Schema = Record<string, unknown> | boolean;

/**
 * Checks `value` against `schema`; returns undefined when it matches, else the first mismatch
 * as `path: problem`, e.g. `score: expected number, got string`.
 */
export function checkOutput(schema: unknown, value: unknown): string | undefined {
  if (schema === undefined || schema === null) return undefined;
  return check(schema as Schema, value, '', schema as Schema, 0);
}

/** How a value is named in a mismatch: JSON's types, with integers and arrays told apart. */
function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (v instanceof Date) return 'Date';
  if (v instanceof Map) return 'Map';
  if (v instanceof Set) return 'Set';
  return typeof v;
}

function isType(v: unknown, t: string): boolean {
  switch (t) {
    case 'null':
      return v === null;
    case 'array':
      return Array.isArray(v);
    case 'object':
      return isPlainObject(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    default:
      return typeof v === t;
  }
}

function isPlainObject(v: unknown): boolean {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const at = (path: string): string => (path === '' ? 'output' : path);
const join = (path: string, key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? (path === '' ? key : `${path}.${key}`) : `${path}[${JSON.stringify(key)}]`);
const show = (v: unknown): string => {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
};

function resolveRef(ref: string, root: Schema): Schema | undefined {
  if (ref === '#') return root;
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return node as Schema | undefined;
}

function check(schema: Schema, v: unknown, path: string, root: Schema, depth: number): string | undefined {
  if (schema === true) return undefined;
  if (schema === false) return `${at(path)}: not allowed`;
  if (typeof schema !== 'object' || schema === null || depth > 64) return undefined;
  const s = schema;

  if (typeof s.$ref === 'string') {
    const target = resolveRef(s.$ref, root);
    if (target !== undefined) {
      const err = check(target, v, path, root, depth + 1);
      if (err) return err;
    }
  }
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    // JSON Schema counts an integer as a number.
    if (!types.some((t) => isType(v, t))) return `${at(path)}: expected ${types.join(' or ')}, got ${kindOf(v)}`;
  }
  if ('const' in s && !sameJson(v, s.const)) return `${at(path)}: expected ${show(s.const)}, got ${show(v)}`;
  if (Array.isArray(s.enum) && !s.enum.some((e) => sameJson(v, e))) return `${at(path)}: expected one of ${s.enum.map(show).join(', ')}, got ${show(v)}`;

  for (const err of combinators(s, v, path, root, depth)) if (err) return err;

  if (typeof v === 'number') {
    if (typeof s.minimum === 'number' && v < s.minimum) return `${at(path)}: expected at least ${s.minimum}, got ${v}`;
    if (typeof s.maximum === 'number' && v > s.maximum) return `${at(path)}: expected at most ${s.maximum}, got ${v}`;
    if (typeof s.exclusiveMinimum === 'number' && v <= s.exclusiveMinimum) return `${at(path)}: expected more than ${s.exclusiveMinimum}, got ${v}`;
    if (typeof s.exclusiveMaximum === 'number' && v >= s.exclusiveMaximum) return `${at(path)}: expected less than ${s.exclusiveMaximum}, got ${v}`;
    if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && Math.abs(v / s.multipleOf - Math.round(v / s.multipleOf)) > 1e-9) return `${at(path)}: expected a multiple of ${s.multipleOf}, got ${v}`;
  }
  if (typeof v === 'string') {
    const len = [...v].length;
    if (typeof s.minLength === 'number' && len < s.minLength) return `${at(path)}: expected at least ${s.minLength} characters, got ${len}`;
    if (typeof s.maxLength === 'number' && len > s.maxLength) return `${at(path)}: expected at most ${s.maxLength} characters, got ${len}`;
    if (typeof s.pattern === 'string' && !safeRegExp(s.pattern)?.test(v)) return `${at(path)}: expected to match /${s.pattern}/, got ${show(v)}`;
  }
  if (Array.isArray(v)) return checkArray(s, v, path, root, depth);
  if (isType(v, 'object')) return checkObject(s, v as Record<string, unknown>, path, root, depth);
  return undefined;
}

function* combinators(s: Record<string, unknown>, v: unknown, path: string, root: Schema, depth: number): Generator<string | undefined> {
  if (Array.isArray(s.allOf)) for (const sub of s.allOf) yield check(sub as Schema, v, path, root, depth + 1);
  for (const key of ['anyOf', 'oneOf'] as const) {
    const subs = s[key];
    if (!Array.isArray(subs)) continue;
    const errs = subs.map((sub) => check(sub as Schema, v, path, root, depth + 1));
    const passed = errs.filter((e) => e === undefined).length;
    if (passed === 0) yield errs.length === 1 ? errs[0] : `${at(path)}: matches none of ${errs.length} alternatives (${errs.join('; ')})`;
    // zod emits oneOf only for unions it proved disjoint; more than one match is still a mismatch.
    else if (key === 'oneOf' && passed > 1) yield `${at(path)}: matches ${passed} alternatives, expected exactly one`;
  }
}

function checkArray(s: Record<string, unknown>, v: unknown[], path: string, root: Schema, depth: number): string | undefined {
  if (typeof s.minItems === 'number' && v.length < s.minItems) return `${at(path)}: expected at least ${s.minItems} items, got ${v.length}`;
  if (typeof s.maxItems === 'number' && v.length > s.maxItems) return `${at(path)}: expected at most ${s.maxItems} items, got ${v.length}`;
  const prefix = Array.isArray(s.prefixItems) ? (s.prefixItems as Schema[]) : [];
  for (let i = 0; i < v.length; i++) {
    const sub = i < prefix.length ? prefix[i] : (s.items as Schema | undefined);
    if (sub === undefined) continue;
    const err = check(sub, v[i], `${path}[${i}]`, root, depth + 1);
    if (err) return err;
  }
  return undefined;
}

function checkObject(s: Record<string, unknown>, v: Record<string, unknown>, path: string, root: Schema, depth: number): string | undefined {
  const props = (s.properties ?? {}) as Record<string, Schema>;
  if (Array.isArray(s.required)) {
    for (const key of s.required as string[]) if (!(key in v) || v[key] === undefined) return `${at(join(path, key))}: required, missing`;
  }
  for (const [key, val] of Object.entries(v)) {
    if (val === undefined) continue; // an absent key travels as undefined; JSON has no such value
    const sub = Object.hasOwn(props, key) ? props[key] : (s.additionalProperties as Schema | undefined);
    if (sub === false) return `${at(join(path, key))}: not allowed (no such property in the schema)`;
    if (sub === undefined) continue;
    const err = check(sub, val, join(path, key), root, depth + 1);
    if (err) return err;
  }
  return undefined;
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  try {
    return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
  } catch {
    return false;
  }
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)).map(([k, x]) => [k, sortKeys(x)]));
}

const patterns = new Map<string, RegExp | undefined>();

/** A pattern JavaScript cannot compile is ignored rather than failing every row. */
function safeRegExp(p: string): RegExp | undefined {
  if (!patterns.has(p)) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(p, 'u');
    } catch {
      re = undefined;
    }
    patterns.set(p, re);
  }
  return patterns.get(p);
}

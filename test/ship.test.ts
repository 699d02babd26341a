import { describe, it, expect } from 'vitest';
import { transformSync } from 'esbuild';
import { shipFunction } from '../client/ship.js';
import { materialize } from '../agent/materialize.js';
import { FlotillaError } from '../contract/errors.js';
import type { FnSpec } from '../contract/fnspec.js';

/** Ships and rebuilds through JSON, as a spec crosses the wire between client and agent. */
function roundTrip(fn: unknown, globals?: Record<string, unknown>): (...args: unknown[]) => unknown {
  const spec = shipFunction(fn, globals);
  return materialize(JSON.parse(JSON.stringify(spec, (_k, v: unknown) => (v instanceof Uint8Array ? { __bytes: [...v] } : v)), (_k, v: unknown) =>
    v !== null && typeof v === 'object' && '__bytes' in v ? Uint8Array.from((v as { __bytes: number[] }).__bytes) : v,
  ) as FnSpec);
}

function badInput(run: () => unknown): FlotillaError {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FlotillaError);
    expect((err as FlotillaError).code).toBe('BAD_INPUT');
    return err as FlotillaError;
  }
  throw new Error('expected a BAD_INPUT error');
}

// Written in TypeScript on purpose: vitest transpiles this file, as tsx does for app code.
interface Point { x: number; y: number }
function tsNorm(p: Point, scale: number = 1): number {
  const square = (v: number): number => v * v;
  function total(...vs: number[]): number {
    return vs.reduce((a, b) => a + b, 0);
  }
  return Math.sqrt(total(square(p.x), square(p.y))) * scale;
}

describe('shipFunction + materialize round trips', () => {
  it('ships arrows, async arrows, function expressions and declarations', async () => {
    expect(roundTrip((x: number) => x * x)(7)).toBe(49);
    expect(roundTrip((x: number) => x + 1)(1)).toBe(2);
    expect(await roundTrip(async (x: number) => x * 2)(4)).toBe(8);
    expect(await roundTrip(async function twice(x: number) { return x * 2; })(5)).toBe(10);
    expect(roundTrip(function (a: number, b: number) { return a - b; })(5, 3)).toBe(2);
    function fact(n: number): number {
      return n <= 1 ? 1 : n * fact(n - 1);
    }
    expect(roundTrip(fact)(5)).toBe(120);
  });

  it('ships method shorthand, async and generator methods, getters and class methods', async () => {
    const o = {
      square(x: number) { return x * x; },
      async later(x: number) { return x + 1; },
      *count(n: number) { for (let i = 0; i < n; i++) yield i; },
      get answer() { return 42; },
      ['comp' + 'uted'](x: number) { return -x; },
      'quoted name'(x: number) { return x; },
    };
    expect(roundTrip(o.square)(3)).toBe(9);
    expect(await roundTrip(o.later)(1)).toBe(2);
    expect([...(roundTrip(o.count)(3) as Iterable<number>)]).toEqual([0, 1, 2]);
    expect(roundTrip(Object.getOwnPropertyDescriptor(o, 'answer')!.get)()).toBe(42);
    expect(roundTrip((o as unknown as Record<string, unknown>)['computed'])(2)).toBe(-2);
    expect(roundTrip(o['quoted name'])(5)).toBe(5);
    class Calc {
      static triple(x: number) { return 3 * x; }
      half(x: number) { return x / 2; }
    }
    expect(roundTrip(Calc.triple)(2)).toBe(6);
    expect(roundTrip(Calc.prototype.half)(8)).toBe(4);
  });

  it('keeps the method name where it does not shadow a global the body reads', () => {
    const k = 10;
    const o = { k(x: number) { return x + k; }, add(x: number) { return x + 1; } };
    expect(shipFunction(o.add).src).toMatch(/^function add\(/);
    expect(shipFunction(o.k, { k }).src).toMatch(/^function \(/);
    expect(roundTrip(o.k, { k })(1)).toBe(11);
  });

  it('closes over value globals: number, Map, Date, Float64Array', () => {
    const k = 3;
    const table = new Map([['a', 1], ['b', 2]]);
    const start = new Date('2024-01-02T03:04:05Z');
    const weights = new Float64Array([0.5, 1.5, 2.5]);
    const fn = (key: string) => ({
      scaled: (table.get(key) ?? 0) * k,
      year: start.getUTCFullYear(),
      isDate: start instanceof Date,
      dot: weights.reduce((a, w) => a + w, 0),
      typed: weights instanceof Float64Array,
    });
    expect(roundTrip(fn, { k, table, start, weights })('b')).toEqual({ scaled: 6, year: 2024, isDate: true, dot: 4.5, typed: true });
  });

  it('lets function globals call each other and use value globals', () => {
    const offset = 100;
    const inc = (x: number) => x + 1;
    const fit = (r: number, k: number) => inc(r) * k + offset;
    const isEven = (n: number): boolean => (n === 0 ? true : isOdd(n - 1));
    const isOdd = (n: number): boolean => (n === 0 ? false : isEven(n - 1));
    const f = roundTrip((r: number) => [fit(r, 2), isEven(r)], { fit, inc, offset, isEven, isOdd });
    expect(f(4)).toEqual([110, true]);
  });

  it('ships a function written in this TypeScript file', () => {
    expect(roundTrip(tsNorm)({ x: 3, y: 4 }, 2)).toBe(10);
    expect(roundTrip((p: Point): number => tsNorm(p), { tsNorm })({ x: 6, y: 8 })).toBe(10);
  });

  it('ships code transpiled by esbuild with keepNames, which calls __name', () => {
    const { code } = transformSync(
      'export const outer = (x: number): number => { const sq = (y: number) => y * y; function add(a: number, b: number) { return a + b; } return add(sq(x), 1); };',
      { loader: 'ts', keepNames: true, format: 'iife', globalName: 'mod' },
    );
    const outer = (new Function(`${code}\nreturn mod.outer;`) as () => unknown)();
    expect(Function.prototype.toString.call(outer)).toContain('__name(');
    expect(roundTrip(outer)(3)).toBe(10);
  });
});

describe('free names', () => {
  it('names every missing identifier and shows how to pass them', () => {
    const err = badInput(() => shipFunction(new Function('return (r) => fit(r, k) + k')()));
    expect(err.message).toBe('the function uses "fit" and "k", which are not parameters, locals or JavaScript globals: pass them in globals, e.g. { globals: { fit, k } }');
    expect(err.context['missing']).toEqual(['fit', 'k']);
    const one = badInput(() => shipFunction(new Function('return (x) => x * k')()));
    expect(one.message).toBe('the function uses "k", which is not a parameter, a local or a JavaScript global: pass it in globals, e.g. { globals: { k } }');
  });

  it('does not flag params, locals, destructuring, nested functions, catch params, labels or builtins', () => {
    const fn = function (this: unknown, a: number, { b, c: [d] = [1] }: { b: number; c?: number[] }, ...rest: number[]) {
      var v = 1;
      let l = 2;
      const { e = a } = { e: undefined as number | undefined };
      function nested(n: number): number { return n > 0 ? nested(n - 1) : v; }
      class Local { get x() { return l; } }
      outer: for (const i of rest) { if (i) break outer; }
      try { JSON.parse('{'); } catch ({ message }: any) { void message; } // a catch binding may only be typed any or unknown
      try { throw new Error('x'); } catch (err) { void err; }
      const obj = { key: 1, nested };
      void new.target;
      return [a, b, d, e, nested(1), new Local().x, obj.key, arguments.length, Math.max(1, 2), Buffer.from('a').length,
        [structuredClone, setTimeout, fetch, process, console, Buffer, globalThis, Intl].every(Boolean), new Map().size, JSON.stringify(this ?? null)];
    };
    expect(() => shipFunction(fn)).not.toThrow();
    expect((roundTrip(fn)(1, { b: 2 }, 3) as unknown[]).slice(0, 11)).toEqual([1, 2, 1, 1, 1, 2, 1, 3, 2, 1, true]);
  });

  it('flags shorthand properties but not member names or object keys', () => {
    const err = badInput(() => shipFunction(new Function('return () => ({ k, other: a.b, [c]: 1 })')()));
    expect(err.context['missing']).toEqual(['a', 'c', 'k']);
    expect(err.message).not.toContain('"b"');
    expect(err.message).not.toContain('"other"');
  });

  it('flags `arguments` in a top-level arrow but not a typeof probe', () => {
    expect(badInput(() => shipFunction(new Function('return () => arguments[0]')())).context['missing']).toEqual(['arguments']);
    expect(() => shipFunction(new Function('return () => typeof window === "undefined"')())).not.toThrow();
  });

  it('checks function globals too, naming the global', () => {
    const fit = new Function('return (r) => r * w')();
    const err = badInput(() => shipFunction((r: number) => fit(r), { fit }));
    expect(err.message).toContain('global "fit" uses "w"');
    expect(err.context['missing']).toEqual(['w']);
  });

  it('explains why a method using super cannot ship', () => {
    const base = { hi() { return 'hi'; } };
    const o = { hi() { return super.hi(); } };
    Object.setPrototypeOf(o, base);
    expect(badInput(() => shipFunction(o.hi)).message).toMatch(/super/);
  });
});

describe('refused inputs', () => {
  it('refuses values that are not functions, naming what it got', () => {
    expect(badInput(() => shipFunction(42)).message).toContain('got 42');
    expect(badInput(() => shipFunction('x => x')).message).toContain('got "x => x"');
    expect(badInput(() => shipFunction(undefined)).message).toContain('got undefined');
  });

  it('refuses native and bound functions and classes', () => {
    expect(badInput(() => shipFunction(Math.max)).message).toMatch(/built-in.*max/);
    const bound = ((x: number) => x).bind(null);
    expect(badInput(() => shipFunction(bound)).message).toMatch(/bound function/);
    class Thing {}
    expect(badInput(() => shipFunction(Thing)).message).toMatch(/class constructor/);
    expect(badInput(() => shipFunction((x: number) => x, { m: Math.min })).message).toMatch(/global "m" is a built-in/);
  });

  it('names the global that holds an unsendable value', () => {
    class Model { w = 1; }
    expect(badInput(() => shipFunction(() => 1, { model: new Model() })).message).toMatch(/global "model" is an instance of Model/);
    expect(badInput(() => shipFunction(() => 1, { tag: Symbol('t') })).message).toMatch(/global "tag" is a symbol/);
  });

  it('refuses global names that are not identifiers or are reserved', () => {
    for (const name of ['1abc', 'a-b', '', 'class', 'let', 'arguments']) {
      expect(badInput(() => shipFunction(() => 1, { [name]: 1 })).message).toContain(JSON.stringify(name));
    }
    expect(badInput(() => shipFunction(() => 1, { __name: 1 })).message).toMatch(/reserved/);
    expect(badInput(() => shipFunction(() => 1, [] as unknown as Record<string, unknown>)).message).toMatch(/^globals must be/);
  });
});

describe('spec ids', () => {
  it('gives the same id to the same function and globals, whatever the key order', () => {
    const fn = (x: number) => x * k;
    const k = 2;
    const a = shipFunction(fn, { k, m: new Map([[1, 2]]), w: new Float64Array([1, 2]) });
    const b = shipFunction(fn, { w: new Float64Array([1, 2]), m: new Map([[1, 2]]), k });
    expect(a.id).toMatch(/^[0-9a-f]{64}$/);
    expect(b.id).toBe(a.id);
  });

  it('gives a different id when globals or source differ', () => {
    const fn = (x: number) => x * k;
    const k = 2;
    const base = shipFunction(fn, { k }).id;
    expect(shipFunction(fn, { k: 3 }).id).not.toBe(base);
    expect(shipFunction(fn, { k, extra: 1 }).id).not.toBe(base);
    expect(shipFunction(fn, { k: () => 2 }).id).not.toBe(base);
    expect(shipFunction((x: number) => x + k, { k }).id).not.toBe(base);
    expect(shipFunction(fn, { k, w: new Float64Array([1]) }).id).not.toBe(shipFunction(fn, { k, w: new Float64Array([2]) }).id);
  });
});

describe('materialize', () => {
  const spec = (src: string, fns: Record<string, string> = {}): FnSpec => ({ id: 'x', src, vals: {}, fns });

  it('refuses a source with a syntax error, naming the part', () => {
    expect(badInput(() => materialize(spec('(x) => {'))).message).toMatch(/the shipped function does not compile: SyntaxError/);
    expect(badInput(() => materialize(spec('(x) => g(x)', { g: 'function (' }))).message).toMatch(/global "g" does not compile/);
  });

  it('refuses a source that is not a function', () => {
    expect(badInput(() => materialize(spec('42'))).message).toMatch(/does not evaluate to a function \(got number\)/);
    expect(badInput(() => materialize(spec('(x) => x', { g: '"str"' }))).message).toMatch(/global "g" does not evaluate to a function/);
  });

  it('refuses global names that are not identifiers', () => {
    expect(badInput(() => materialize({ id: 'x', src: '() => 1', vals: { 'a b': { j: 1 } }, fns: {} })).message).toMatch(/not a JavaScript identifier/);
  });

  it('defines __name for transpiled code', () => {
    expect(materialize(spec('() => __name(function () {}, "named").name'))()).toBe('named');
  });
});

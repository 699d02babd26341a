import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { attachFlow, clusterMap, connect, flow, moduleFn, moduleOf, paramGrid } from '../client/index.js';
import type { CommandOutput, MapProgress, Flow, FlowHandle, FlowRowError, FlotillaError, MapJob, ModuleFunction, RegisteredFn, Session, TaskContext, TaskOutcome } from '../client/index.js';

describe('what clusterMap and map infer', () => {
  it('clusterMap resolves to the awaited return type of fn, per item', () => {
    expectTypeOf(clusterMap([1, 2, 3], (x) => x * x)).toEqualTypeOf<Promise<number[]>>();
    expectTypeOf(clusterMap(['a'], async (s) => ({ s, n: s.length }))).toEqualTypeOf<Promise<{ s: string; n: number }[]>>();
    clusterMap([{ v: 1 }], (r) => {
      expectTypeOf(r).toEqualTypeOf<{ v: number }>();
      return r.v;
    });
  });

  it('the task function gets the item and the task context', () => {
    clusterMap(new Set([1n]), (x, ctx) => {
      expectTypeOf(x).toEqualTypeOf<bigint>();
      expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
      expectTypeOf(ctx.signal).toEqualTypeOf<AbortSignal>();
      return ctx.index;
    });
  });

  it('map returns a job that awaits to values and iterates outcomes', async () => {
    expectTypeOf(connect).returns.resolves.toEqualTypeOf<Session>();
    const fl = {} as Session;
    const job = fl.map([1, 2], (x) => String(x));
    expectTypeOf(job).toEqualTypeOf<MapJob<string>>();
    expectTypeOf(job).resolves.toEqualTypeOf<string[]>();
    for await (const r of job) {
      expectTypeOf(r).toEqualTypeOf<TaskOutcome<string>>();
      if (r.ok) expectTypeOf(r.value).toEqualTypeOf<string>();
      else expectTypeOf(r.error).toEqualTypeOf<FlotillaError>();
    }
    expectTypeOf(fl.map([1], async (x) => [x])).resolves.toEqualTypeOf<number[][]>();
  });

  it('rejects options that do not exist and items that do not fit', () => {
    const fl = {} as Session;
    // @ts-expect-error: no such option
    fl.map([1], (x) => x, { retry: 1 });
    // @ts-expect-error: the function takes strings, the items are numbers
    fl.map([1], (s: string) => s);
  });
});

describe('the progress option', () => {
  it('takes a boolean or a callback of typed figures, on map, clusterMap and attach; not on submit', () => {
    const fl = {} as Session;
    fl.map([1], (x) => x, { progress: true });
    clusterMap([1], (x) => x, { progress: false });
    fl.map([1], (x) => x, {
      progress: (p) => {
        expectTypeOf(p).toEqualTypeOf<MapProgress>();
        expectTypeOf(p.done).toEqualTypeOf<number>();
        expectTypeOf(p.failed).toEqualTypeOf<number>();
        expectTypeOf(p.total).toEqualTypeOf<number>();
        expectTypeOf(p.rate).toEqualTypeOf<number>();
        expectTypeOf(p.etaMs).toEqualTypeOf<number | undefined>();
        expectTypeOf(p.elapsedMs).toEqualTypeOf<number>();
      },
    });
    expectTypeOf(fl.attach<number>('j', { progress: true })).toEqualTypeOf<MapJob<number>>();
    // @ts-expect-error: progress is true, false or a function
    fl.map([1], (x) => x, { progress: 'yes' });
    // @ts-expect-error: submit returns at once; attach shows progress
    void fl.submit([1], (x: number) => x, { progress: true });
  });

  it('outcomes carry their timings', async () => {
    const fl = {} as Session;
    for await (const r of fl.map([1], (x) => x)) {
      expectTypeOf(r.queuedAt).toEqualTypeOf<number | undefined>();
      expectTypeOf(r.startedAt).toEqualTypeOf<number | undefined>();
      expectTypeOf(r.finishedAt).toEqualTypeOf<number | undefined>();
      expectTypeOf(r.durationMs).toEqualTypeOf<number | undefined>();
      expectTypeOf(r.cpuMs).toEqualTypeOf<number | undefined>();
      expectTypeOf(r.peakRssBytes).toEqualTypeOf<number | undefined>();
    }
  });
});

describe('what flow infers', () => {
  it('paramGrid rows have one field per column', () => {
    const grid = paramGrid({ subject: ['s01', 's02'], session: [1, 2] });
    expectTypeOf(grid).toEqualTypeOf<{ subject: string; session: number }[]>();
  });

  it("a stage's input is the row plus the outputs of what it needs; collected rows carry every stage", async () => {
    const grid = paramGrid({ subject: ['s01'], session: [1], condition: ['A'] });
    const f = flow(grid)
      .stage('pre', ({ subject, session }) => {
        expectTypeOf(subject).toEqualTypeOf<string>();
        expectTypeOf(session).toEqualTypeOf<number>();
        return { data: [session] };
      })
      .stage('fit', async (input, ctx) => {
        expectTypeOf(input).toEqualTypeOf<{ subject: string; session: number; condition: string; pre: { data: number[] } }>();
        expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
        return { score: input.pre.data.length };
      }, { needs: ['pre'] })
      .stage('other', (input) => {
        // Without needs, no other stage's output is in the input.
        expectTypeOf(input).toEqualTypeOf<{ subject: string; session: number; condition: string }>();
        return 1;
      })
      .command('plot', ['plot', '{subject}'], { needs: ['fit'] })
      .distribute({ by: ['subject'], workersWithin: 2 });
    const rows = await f.collect();
    const row = rows[0]!;
    if (row.status === 'ok') {
      expectTypeOf(row.fit).toEqualTypeOf<{ score: number }>();
      expectTypeOf(row.plot).toEqualTypeOf<CommandOutput>();
      expectTypeOf(row.subject).toEqualTypeOf<string>();
    } else {
      expectTypeOf(row.status).toEqualTypeOf<'failed' | 'skipped'>();
      expectTypeOf(row.fit).toEqualTypeOf<{ score: number } | undefined>();
      expectTypeOf(row.error).toEqualTypeOf<FlowRowError>();
    }
    expectTypeOf(f.submit()).resolves.toEqualTypeOf<FlowHandle<{ subject: string; session: number; condition: string }, { pre: { data: number[] } } & { fit: { score: number } } & { other: number } & { plot: CommandOutput }>>();
    // @ts-expect-error needs names only earlier stages
    flow(grid).stage('a', () => 1).stage('b', () => 2, { needs: ['zzz'] });
    // @ts-expect-error by names only columns
    flow(grid).stage('a', () => 1).distribute({ by: ['nope'] });
  });

  it('a declared output schema types the output', async () => {
    const rows = await flow([{ v: 1 }]).stage('s', ({ v }) => ({ score: v }), { output: z.object({ score: z.number() }) }).collect();
    const row = rows[0]!;
    if (row.status === 'ok') expectTypeOf(row.s).toEqualTypeOf<{ score: number }>();
    // @ts-expect-error the function must return what the schema takes
    flow([{ v: 1 }]).stage('s', ({ v }) => ({ score: String(v) }), { output: z.object({ score: z.number() }) });
  });

  it('a session has flow(), and attachFlow gives an untyped handle', () => {
    const fl = {} as Session;
    expectTypeOf(fl.flow([{ a: 1 }])).toEqualTypeOf<Flow<{ a: number }, {}>>();
    expectTypeOf(attachFlow(fl, 'fl-1')).toEqualTypeOf<FlowHandle<Record<string, unknown>, Record<string, unknown>>>();
  });
});

describe('module functions', () => {
  type Work = typeof import('./functions/fixtures/work.js');
  const work = moduleOf<Work>(new URL('./functions/fixtures/work.ts', import.meta.url));

  it('a handle has one typed module function per function export, none for values', () => {
    expectTypeOf(work.fit).toEqualTypeOf<ModuleFunction<Work['fit']>>();
    expectTypeOf(work).not.toHaveProperty('notAFunction');
  });

  it('map infers the result from the export and checks items against its first parameter', () => {
    const fl = {} as Session;
    expectTypeOf(fl.map([{ x: 1 }], work.fit)).toEqualTypeOf<MapJob<{ y: number; pid: number }>>();
    expectTypeOf(fl.map([{ x: 1 }], work.withSetup, { setup: work.init })).resolves.toEqualTypeOf<{ x: number; token: string; threadId: number }[]>();
    // @ts-expect-error rows must match fit's parameter
    fl.map([{ y: 'no' }], work.fit);
    // @ts-expect-error setup is a module function or a function
    fl.map([{ x: 1 }], work.fit, { setup: 42 });
    expectTypeOf(clusterMap([{ x: 2 }], work.fit)).toEqualTypeOf<Promise<{ y: number; pid: number }[]>>();
  });

  it('an untyped { module, export } runs, typed as unknown results', () => {
    const fl = {} as Session;
    expectTypeOf(fl.map([1], { module: 'work.ts', export: 'fit' })).toEqualTypeOf<MapJob<unknown>>();
    expectTypeOf(moduleFn<(n: number) => string>('work.ts', 'f')).toEqualTypeOf<ModuleFunction<(n: number) => string>>();
    expectTypeOf(fl.map([1], moduleFn<(n: number) => string>('work.ts', 'f'))).toEqualTypeOf<MapJob<string>>();
  });
});

describe('what registered functions infer', () => {
  type Fit = typeof import('./functions/fixtures/registry-work.js')['fit'];
  type Fitted = { weight: number; tag: string };

  it('a handle from register carries the types of the function it was registered from', async () => {
    const fl = {} as Session;
    const sq = await fl.functions.register('square', (x: number) => x * x);
    expectTypeOf(sq).toEqualTypeOf<RegisteredFn<number, number>>();
    expectTypeOf(fl.call(sq, 3)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(fl.map(sq, [1, 2])).toEqualTypeOf<MapJob<number>>();
    const work = moduleOf<typeof import('./functions/fixtures/registry-work.js')>('./functions/fixtures/registry-work.ts');
    const fit = await fl.functions.register('fit', work.fit, { setup: work.init });
    expectTypeOf(fit).toEqualTypeOf<RegisteredFn<{ values: number[] }, Fitted>>();
    expectTypeOf(fl.call(fit, { values: [1] })).resolves.toEqualTypeOf<Fitted>();
    const slow = await fl.functions.register('slow', async (s: string) => s.length);
    expectTypeOf(fl.call(slow, 'abc')).toEqualTypeOf<Promise<number>>();
  });

  it('a call by name is typed by an explicit function type, unknown without one', () => {
    const fl = {} as Session;
    expectTypeOf(fl.call<Fit>('fit', { values: [1] })).resolves.toEqualTypeOf<Fitted>();
    expectTypeOf(fl.map<Fit>('fit', [{ values: [1] }])).toEqualTypeOf<MapJob<Fitted>>();
    expectTypeOf(fl.call('fit', 1)).toEqualTypeOf<Promise<unknown>>();
    expectTypeOf(fl.functions.ref<Fit>('fit')).toEqualTypeOf<RegisteredFn<{ values: number[] }, Fitted>>();
    expectTypeOf(fl.functions.list()).resolves.items.toHaveProperty('kind').toEqualTypeOf<'inline' | 'module'>();
  });

  it('rejects arguments that do not fit, and per-map globals', async () => {
    const fl = {} as Session;
    const sq = await fl.functions.register('square', (x: number) => x * x);
    // @ts-expect-error: the registered function takes numbers
    fl.call(sq, 'three');
    // @ts-expect-error: items must be what the function takes
    fl.map<Fit>('fit', [1]);
    // @ts-expect-error: globals are fixed at registration
    fl.map(sq, [1], { globals: { k: 1 } });
  });
});

describe('everywhere and submit by name', () => {
  it('everywhere gives each lane where it runs and types one outcome per lane', () => {
    const fl = {} as Session;
    const out = fl.everywhere((w) => `${w.agentId}/${w.host}/${w.lane}`);
    expectTypeOf(out).resolves.items.toHaveProperty('lane').toEqualTypeOf<number>();
    expectTypeOf(out).resolves.items.toEqualTypeOf<{ agentId: string; host: string; lane: number } & ({ ok: true; value: string } | { ok: false; error: FlotillaError })>();
    // @ts-expect-error: everywhere takes no items
    fl.everywhere((w) => w, { retries: 1 });
  });

  it('submit takes a registered handle or a name, like map', async () => {
    const fl = {} as Session;
    const sq = await fl.functions.register('square', (x: number) => x * x);
    expectTypeOf(fl.submit(sq, [1, 2])).toEqualTypeOf<Promise<string>>();
    expectTypeOf(fl.submit<(x: number) => number>('square', [1])).toEqualTypeOf<Promise<string>>();
    // @ts-expect-error: the registered function takes numbers
    fl.submit(sq, ['a']);
    // @ts-expect-error: a setup is fixed at registration
    fl.submit(sq, [1], { setup: () => 1 });
  });
});

describe('errors land where the mistake is', () => {
  it('a misspelt option is a type error at the option, not at the function', () => {
    const fl = {} as Session;
    clusterMap([1], (x) => x, {
      // @ts-expect-error: timeout is not an option (timeoutMs is)
      timeout: 5000,
    });
    // map has several forms (by name, by handle), so TypeScript marks the call; its message is
    // the form with items and a function: "'retry' does not exist in type 'MapOptions'".
    // @ts-expect-error: retry is not an option (retries is)
    fl.map([1], (x) => x, { retry: 1 });
    type Work = typeof import('./functions/fixtures/work.js');
    const work = moduleOf<Work>(new URL('./functions/fixtures/work.ts', import.meta.url));
    clusterMap([{ x: 1 }], work.fit, {
      // @ts-expect-error: module functions too
      timeout: 5000,
    });
  });
});

describe('ctx.setup is typed from the setup given', () => {
  type Model = { weights: number[] };

  it('an inline setup types ctx.setup with its awaited value', () => {
    const fl = {} as Session;
    fl.map([1], (x, ctx) => {
      expectTypeOf(ctx.setup).toEqualTypeOf<Model>();
      return x * ctx.setup.weights.length;
    }, { setup: async (): Promise<Model> => ({ weights: [1] }) });
    clusterMap(['a'], (s, ctx) => {
      expectTypeOf(ctx.setup).toEqualTypeOf<{ n: number }>();
      return s;
    }, { setup: () => ({ n: 1 }) });
  });

  it('without a setup, ctx.setup is unknown and ctx is the plain TaskContext', () => {
    clusterMap([1], (x, ctx) => {
      expectTypeOf(ctx).toEqualTypeOf<TaskContext>();
      expectTypeOf(ctx.setup).toEqualTypeOf<unknown>();
      return x;
    });
  });

  it('a module export typed (row, ctx: { setup: Model }) type-checks against its setup', () => {
    const fl = {} as Session;
    const fit = moduleFn<(row: { x: number }, ctx: { setup: Model }) => number>('work.ts', 'fit');
    const load = moduleFn<() => Promise<Model>>('work.ts', 'load');
    expectTypeOf(fl.map([{ x: 1 }], fit, { setup: load })).toEqualTypeOf<MapJob<number>>();
    expectTypeOf(fl.map([{ x: 1 }], fit, { setup: async () => ({ weights: [2] }) })).toEqualTypeOf<MapJob<number>>();
    // @ts-expect-error: fit needs a Model in ctx.setup, and no setup gives one
    fl.map([{ x: 1 }], fit);
    // @ts-expect-error: this setup does not give a Model
    fl.map([{ x: 1 }], fit, { setup: () => 'not a model' });
  });
});

/**
 * The function registry with real agents: module functions registered by name (their artifacts
 * kept by the controller, also across a restart of a durable one), versions, and the errors a
 * caller gets for bad names, unknown names and versions, and specs whose artifacts are missing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, moduleOf } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import type { FnSpec } from '../../contract/fnspec.js';
import { rejection } from '../support/async.js';

const work = moduleOf<typeof import('./fixtures/registry-work.js')>(new URL('./fixtures/registry-work.ts', import.meta.url));

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}
const pool = () => ({ local: { launcher: 'local' as const, agents: 1, slots: 1, env: { FLOTILLA_CACHE_DIR: tempDir('flotilla-cache-') } } });

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: pool(), waitForAgents: 1 });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

describe('module functions registered by name', () => {
  it('run from their artifact by name, and survive a restart of a durable controller with it', async () => {
    const stateDir = tempDir('flotilla-registry-state-');
    const rows = [{ values: [1, 2, 3] }, { values: [4] }];
    const first = await connect({ pools: pool(), controller: { stateDir, durable: true, requireToken: false } });
    let version: string;
    try {
      const fit = await first.functions.register('fit', work.fit, { setup: work.init });
      version = fit.version;
      expect(await first.map(fit, rows)).toEqual([{ weight: 14, tag: 'warm' }, { weight: 4, tag: 'warm' }]);
      const [info] = await first.functions.list();
      expect(info).toMatchObject({ name: 'fit', version, kind: 'module', export: 'fit', latest: true });
      expect(info!.file).toMatch(/registry-work\.ts$/);
      expect((await first.functions.get('fit')).setup).toBe('module');
    } finally {
      await first.close();
    }
    // A new controller on the same state: the registry and the artifact come back from its store.
    const second = await connect({ pools: pool(), controller: { stateDir, durable: true, requireToken: false } });
    try {
      expect(second.controller!.artifacts.has((second.controller!.functions.resolve('fit').module!).artifact)).toBe(true);
      expect(await second.call<typeof import('./fixtures/registry-work.js')['fit']>('fit', { values: [0, 5] })).toEqual({ weight: 10, tag: 'warm' });
      expect((await second.functions.list()).map((f) => f.version)).toEqual([version]);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('refuses a spec whose artifacts the controller lacks, naming them', () => {
    const hash = 'ab'.repeat(32);
    const spec: FnSpec = {
      id: 'x',
      src: '',
      vals: {},
      fns: {},
      module: { artifact: hash, export: 'fit', file: '/nowhere/work.ts', target: 'node20', builtOn: { node: process.version, platform: process.platform } },
    };
    expect(() => fl.controller!.functions.register('lost', spec)).toThrow(expect.objectContaining({ code: 'BAD_INPUT', message: expect.stringContaining(hash) }));
    expect(fl.controller!.functions.list().map((f) => f.name)).not.toContain('lost');
  });
});

describe('inline functions by name', () => {
  it('versions: the same function is one version, a new one becomes the latest, older ones stay callable', async () => {
    const offset = new Float64Array([0.5, 1.5]); // a binary global travels with the registered spec
    const a = await fl.functions.register('shift', (x: number) => x + offset[0]!, { globals: { offset } });
    expect(await fl.functions.register('shift', (x: number) => x + offset[0]!, { globals: { offset } })).toEqual(a);
    const b = await fl.functions.register('shift', (x: number) => x + offset[1]!, { globals: { offset } });
    expect(await fl.call('shift', 1)).toBe(2.5);
    expect(await fl.call(a, 1)).toBe(1.5);
    expect(await fl.map(fl.functions.ref<(x: number) => number>('shift', a.version.slice(0, 8)), [1, 2])).toEqual([1.5, 2.5]);
    // Registering an older version again makes it the latest again.
    await fl.functions.register('shift', (x: number) => x + offset[0]!, { globals: { offset } });
    expect(await fl.call('shift', 1)).toBe(1.5);
    expect((await fl.functions.list()).filter((f) => f.name === 'shift').map((f) => [f.version, f.latest])).toEqual([
      [b.version, false],
      [a.version, true],
    ]);
    expect(await fl.functions.remove('shift')).toEqual({ removed: [b.version, a.version] });
  });

  it('a job submitted by name keeps its function when the name is removed before it ran', async () => {
    const slow = await fl.functions.register('slow.double', async (x: number) => {
      await new Promise((r) => setTimeout(r, 20));
      return x * 2;
    });
    const job = fl.map('slow.double', [1, 2, 3, 4]);
    await job.id; // submitted: the controller resolved the name into the job's own copy
    expect(await fl.functions.remove('slow.double')).toEqual({ removed: [slow.version] });
    expect((await rejection(fl.call(slow, 1))).code).toBe('NOT_FOUND');
    expect(await job).toEqual([2, 4, 6, 8]);
  });

  it("a call rejects with the task's own error", async () => {
    await fl.functions.register('fails', (x: number) => {
      if (x < 0) throw new RangeError(`negative: ${x}`);
      return x;
    });
    const err = await rejection(fl.call('fails', -2));
    expect(err.code).toBe('TASK_ERROR');
    expect(err.message).toContain('negative: -2');
    expect(err.message).not.toContain('task(s) failed'); // not the job's summary of it
  });
});

describe('bad names and unknown functions', () => {
  it('a bad name fails BAD_INPUT naming it, before anything is sent', async () => {
    for (const name of ['9lives', 'has space', '', 'x'.repeat(129), 'semi;colon']) {
      const err = await rejection(fl.functions.register(name, (x: number) => x));
      expect(err.code).toBe('BAD_INPUT');
      expect(err.message).toContain(`function name ${JSON.stringify(name)} must start with a letter or _`);
    }
    const viaMap = await rejection(fl.map('no/slash', [1]));
    expect(viaMap.message).toContain('function name "no/slash"');
    expect(() => fl.controller!.functions.register('bad name', { id: '', src: 'x => x', vals: {}, fns: {} })).toThrow(/function name "bad name" must start/);
  });

  it('an unknown name fails NOT_FOUND naming it and listing the registered names', async () => {
    await fl.functions.register('known.one', (x: number) => x);
    await fl.functions.register('known_two', (x: number) => x);
    const err = await rejection(fl.map('unknown', [1, 2]));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toMatch(/no function is registered as "unknown" \(registered: .*known\.one, known_two/);
    const byVersion = await rejection(fl.call(fl.functions.ref('known.one', 'f'.repeat(12)), 1));
    expect(byVersion.code).toBe('NOT_FOUND');
    expect(byVersion.message).toContain(`function "known.one" has no version ${'f'.repeat(12)}; its versions: `);
    expect((await rejection(fl.functions.remove('unknown'))).code).toBe('NOT_FOUND');
    expect((await rejection(fl.functions.get('known.one', 'xyz'))).message).toContain('version of function "known.one"');
  });

  it('globals and retryIf belong to the registration, not to a map by name', async () => {
    const err = await rejection(fl.map('known.one', [1], { globals: { k: 1 } } as never));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('globals belong to the registration');
  });

  it('submit (fire and forget) takes a registered handle or a name, like map', async () => {
    const sq = await fl.functions.register('submit.sq', (x: number) => x * x);
    const byHandle = await fl.submit(sq, [1, 2, 3]);
    const byName = await fl.submit<(x: number) => number>('submit.sq', [4, 5]);
    expect(await fl.attach<number>(byHandle)).toEqual([1, 4, 9]);
    expect(await fl.attach<number>(byName)).toEqual([16, 25]);
    const err = await rejection(fl.submit('submit.nope', [1]));
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).toContain('submit.nope');
    expect((await rejection(fl.submit('submit.sq', [1], { globals: { k: 1 } } as never))).code).toBe('BAD_INPUT');
  });

  it('a setup given to a map by name is refused, not silently dropped', async () => {
    const err = await rejection(fl.map('known.one', [1], { setup: () => 1, setupTimeoutMs: 5 } as never));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('setup, setupTimeoutMs belong to the registration');
  });
});

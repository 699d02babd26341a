/**
 * Module functions on real local agents: a module that imports a local helper and an npm
 * package is bundled once, uploaded once, sent once per agent, reused warm; stacks name the
 * user's file; setup runs once per lane; failures at submit name the file and the export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterMap, closeDefaultSession, connect, moduleOf } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { rejection, until } from '../support/async.js';
import { Controller } from '../../server/controller.js';
import { encodeValue } from '../../contract/codec.js';
import { fnSpecId } from '../../contract/fnspec.js';

const WORK = new URL('./fixtures/work.ts', import.meta.url);
const HELPER = new URL('./fixtures/helper.ts', import.meta.url);
const work = moduleOf<typeof import('./fixtures/work.js')>(WORK);

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

let fl: Session;
let cache: string;
let setupLog: string;
const pool = (env: Record<string, string>, agents = 2, slots = 2) => ({ local: { launcher: 'local' as const, agents, slots, env } });

beforeAll(async () => {
  cache = tempDir('flotilla-cache-');
  setupLog = join(tempDir('flotilla-setup-'), 'setup.log');
  fl = await connect({ pools: pool({ FLOTILLA_CACHE_DIR: cache, FLOTILLA_TEST_SETUP_LOG: setupLog }), waitForAgents: 4 });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  await closeDefaultSession();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

const setupLines = () => (existsSync(setupLog) ? readFileSync(setupLog, 'utf8').split('\n').filter(Boolean) : []);

describe('module functions on local agents', () => {
  it('runs an export that imports a local helper and an npm package; each agent is sent the artifact once', async () => {
    const rows = Array.from({ length: 16 }, (_, i) => ({ x: i }));
    const out = await fl.map(rows, work.fit);
    expect(out.map((o) => o.y)).toEqual(rows.map((r) => r.x * r.x));
    const agents = new Set(out.map((o) => o.pid));
    expect(agents.size).toBe(2); // both agents ran tasks, so both needed the artifact
    const t = fl.controller!.artifactTransfers;
    expect(Object.values(t.byAgent)).toEqual([1, 1]);
    expect(t.total).toBe(2);
    expect(readdirSync(join(cache, 'artifacts')).filter((f) => f.endsWith('.mjs'))).toHaveLength(1);
    const lanes = (await fl.agents()).lanes;
    expect(lanes.reduce((n, l) => n + l.artifactTransfers, 0)).toBe(2);

    // Warm: the build is cached here, the controller has the artifact, the agents have it.
    expect(await fl.map([{ x: 7 }], work.fit)).toEqual([{ y: 49, pid: expect.any(Number) }]);
    expect(await fl.map([{ x: 3 }], { module: fileURLToPath(WORK), export: 'fit' })).toEqual([{ y: 9, pid: expect.any(Number) }]);
    expect(fl.controller!.artifactTransfers.total).toBe(2);
  });

  it('a new agent on the same host with the same cache folder gets no transfer', async () => {
    const other = await connect({ pools: pool({ FLOTILLA_CACHE_DIR: cache }, 1, 2), waitForAgents: 2 });
    try {
      expect(await other.map([{ x: 2 }, { x: 3 }], work.fit)).toEqual([
        { y: 4, pid: expect.any(Number) },
        { y: 9, pid: expect.any(Number) },
      ]);
      expect(other.controller!.artifactTransfers.total).toBe(0);
    } finally {
      await other.close();
    }
  });

  it('a lane whose artifact is not on disk after all asks the controller, and no task fails or hangs', async () => {
    const own = tempDir('flotilla-cache-');
    const first = await connect({ pools: pool({ FLOTILLA_CACHE_DIR: own }, 1, 1), waitForAgents: 1 });
    await first.map([{ x: 1 }], work.fit);
    await first.close();
    // The next agent reports the artifact in its ready message; then its file goes away.
    const second = await connect({ pools: pool({ FLOTILLA_CACHE_DIR: own }, 1, 2), waitForAgents: 2 });
    try {
      rmSync(join(own, 'artifacts'), { recursive: true, force: true });
      const out = await second.map(Array.from({ length: 6 }, (_, i) => ({ x: i })), work.fit);
      expect(out.map((o) => o.y)).toEqual([0, 1, 4, 9, 16, 25]);
      expect(second.controller!.artifactTransfers.total).toBeGreaterThanOrEqual(1); // answers to `need`
    } finally {
      await second.close();
    }
  }, 60_000);

  it("a thrown error's stack names the user's .ts file and line", async () => {
    const [o] = await fl.map([{ x: 5 }], work.boom).outcomes();
    expect(o!.ok).toBe(false);
    if (o!.ok) return;
    expect(o!.error.code).toBe('TASK_ERROR');
    expect(o!.error.remoteName).toBe('RangeError');
    expect(o!.error.message).toBe('bad row 5');
    expect(o!.error.stack).toContain(`${fileURLToPath(HELPER)}:8:`);
    expect(o!.error.stack).toContain(`${fileURLToPath(WORK)}:17:`);
  });

  it('runs setup once per lane across many tasks and jobs; its value is ctx.setup; dropSetup runs it again', async () => {
    const before = setupLines().length;
    const out = await fl.map(Array.from({ length: 40 }, (_, i) => ({ x: i })), work.withSetup, { setup: work.init });
    expect(out.map((o) => o.x)).toEqual(Array.from({ length: 40 }, (_, i) => i));
    const lines = setupLines().slice(before);
    expect(new Set(lines).size).toBe(lines.length); // never twice on one lane
    const tokens = new Set(out.map((o) => o.token));
    expect(tokens.size).toBe(lines.length); // each lane that ran a task ran its setup, once
    expect([...tokens].sort()).toEqual(lines.map((l) => `setup-${l.replace(':', '-')}`).sort());
    expect(out.every((o) => o.threadId >= 0)).toBe(true); // the value came from the lane's own thread

    await fl.map(Array.from({ length: 20 }, (_, i) => ({ x: i })), work.withSetup, { setup: work.init });
    expect(setupLines().length).toBe(before + lines.length); // no lane ran it again

    expect((await fl.dropSetup()).lanes).toBe(4);
    await fl.map([{ x: 1 }], work.withSetup, { setup: work.init });
    expect(setupLines().length).toBe(before + lines.length + 1);
  });

  it('dropSetup disposes setup values (Symbol.asyncDispose) on the lanes that hold them', async () => {
    const ids = new Set(await fl.map(Array.from({ length: 12 }, (_, i) => i), work.setupId, { setup: work.initDisposable }));
    expect(ids.size).toBeGreaterThan(0);
    await fl.dropSetup();
    const disposed = () => setupLines().filter((l) => l.startsWith('disposed '));
    await until(() => disposed().length >= ids.size);
    expect(new Set(disposed().map((l) => l.slice('disposed '.length)))).toEqual(ids);
  });

  it('an inline setup is shipped like the function, with the globals in scope', async () => {
    const base = 21;
    const out = await fl.map([1, 2], (x: number, ctx) => x + (ctx.setup as { k: number }).k, { setup: () => ({ k: base * 2 }), globals: { base } });
    expect(out).toEqual([43, 44]);
    const err = await rejection(fl.map([1], (x: number) => x, { setup: () => missingName }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain('missingName');
  });

  it('a setup that throws fails every task that needs it with SETUP_FAILED and its message', async () => {
    const outs = await fl.map(Array.from({ length: 8 }, (_, i) => ({ x: i })), work.fit, { setup: work.badInit }).outcomes();
    expect(outs).toHaveLength(8);
    for (const o of outs) {
      expect(o.ok).toBe(false);
      if (o.ok) continue;
      expect(o.error.code).toBe('SETUP_FAILED');
      expect(o.error.message).toContain('TypeError: no model file here');
      expect(o.error.stack).toContain(`${fileURLToPath(WORK)}:`);
    }
  });

  it('works with clusterMap', async () => {
    process.env.FLOTILLA_CACHE_DIR = tempDir('flotilla-cache-');
    try {
      expect((await clusterMap([{ x: 4 }], work.fit)).map((o) => o.y)).toEqual([16]);
    } finally {
      await closeDefaultSession();
      delete process.env.FLOTILLA_CACHE_DIR;
    }
  });
});

describe('module functions fail before anything is sent', () => {
  it('a syntax error names the file, the line and the message', async () => {
    const file = join(tempDir('flotilla-mod-'), 'broken.ts');
    writeFileSync(file, 'export function fit(x: number) {\n  return x +;\n}\n');
    const err = await rejection(fl.map([1], { module: file, export: 'fit' }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain(`${file}:2:`);
    expect(err.message).toMatch(/Unexpected ";"/);
  });

  it('a missing export names the file and the export and lists the exports', async () => {
    const err = await rejection(fl.map([1], { module: WORK, export: 'fitt' }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain(fileURLToPath(WORK));
    expect(err.message).toContain('"fitt"');
    expect(err.message).toContain('"fit"');
    expect(err.message).toContain('"init"');
  });

  it('a file that does not exist is named', async () => {
    const file = join(tmpdir(), 'flotilla-no-such-dir', 'work.ts');
    const err = await rejection(fl.map([1], { module: file, export: 'fit' }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toContain(`${file} does not exist`);
  });

  it('the controller refuses a spec whose artifact it does not have, naming it', async () => {
    const hash = 'ab'.repeat(32);
    const spec = { id: 'x', src: '', vals: {}, fns: {}, module: { artifact: hash, export: 'fit', file: '/w.ts', target: 'node20', builtOn: { node: 'v20.0.0', platform: 'linux-x64' } } };
    expect(() => fl.controller!.submit({ fn: spec, args: [] })).toThrow(hash);
  });
});

describe('artifacts on a durable controller', () => {
  it('are kept in its database across a restart', async () => {
    const state = tempDir('flotilla-state-');
    const code = 'export const f = () => 1;\n';
    const hash = createHash('sha256').update(code).digest('hex');
    const start = () => Controller.start({ stateDir: state, durable: true, pools: { local: { launcher: 'local', min: 0, max: 1 } }, log: () => {} });
    let c = await start();
    try {
      expect(() => c.artifacts.put(hash, code + ' ')).toThrow(/hashes to/);
      c.artifacts.put(hash, code);
    } finally {
      await c.close();
    }
    c = await start();
    try {
      expect(c.artifacts.missing([hash, 'cd'.repeat(32)])).toEqual(['cd'.repeat(32)]);
      expect(c.artifacts.get(hash)).toBe(code);
    } finally {
      await c.close();
    }
  });
});

describe('version skew', () => {
  it('an artifact built for a newer Node fails its tasks naming both sides', async () => {
    const file = join(tempDir('flotilla-mod-'), 'modern.ts');
    writeFileSync(file, 'export const fit = (x: number) => x + 1;\n');
    const major = Number(process.versions.node.split('.')[0]);
    const [o] = await fl.map([1], { module: file, export: 'fit', target: `node${major + 2}` }).outcomes();
    expect(o!.ok).toBe(false);
    if (o!.ok) return;
    expect(o!.error.code).toBe('VERSION_SKEW');
    expect(o!.error.message).toContain(`built for node${major + 2} on ${process.version} ${process.platform}-${process.arch}`);
    expect(o!.error.message).toMatch(new RegExp(`agent \\S+ on \\S+ runs ${process.version.replace(/\./g, '\\.')} ${process.platform}`));
  });

  it('an artifact that does not parse on the agent is version skew naming the syntax error and both sides', async () => {
    // The client's build would refuse this code: upload it as a hostile or broken client could.
    const code = 'export const fit = (x) => x +;\n';
    const hash = createHash('sha256').update(code).digest('hex');
    await fl.api.artifacts.put.mutate({ hash, code });
    const module = { artifact: hash, export: 'fit', file: '/nowhere/broken.ts', target: 'node20', builtOn: { node: 'v20.0.0', platform: 'linux-x64' } };
    const body = { src: '', vals: {}, fns: {}, module };
    const { jobId } = await fl.api.map.submit.mutate({ fn: { id: fnSpecId(body), ...body }, args: [encodeValue(1)], total: 1 });
    const [o] = await fl.attach(jobId).outcomes();
    expect(o!.ok).toBe(false);
    if (o!.ok) return;
    expect(o!.error.code).toBe('VERSION_SKEW');
    expect(o!.error.message).toContain('module /nowhere/broken.ts does not parse on this agent: SyntaxError:');
    expect(o!.error.message).toContain(`Unexpected token ';' (artifact ${hash.slice(0, 12)}`);
    expect(o!.error.message).toContain('built for node20 on v20.0.0 linux-x64');
    expect(o!.error.message).toMatch(new RegExp(`runs ${process.version.replace(/\./g, '\\.')}`));
  });

  it('an external package missing on the agent is version skew naming the package', async () => {
    const file = join(tempDir('flotilla-mod-'), 'ext.ts');
    writeFileSync(file, "// @ts-nocheck\nimport pad from 'flotilla-no-such-package';\nexport const fit = (x: number) => pad(String(x));\n");
    const [o] = await fl.map([1], { module: file, export: 'fit', externals: ['flotilla-no-such-package'] }).outcomes();
    expect(o!.ok).toBe(false);
    if (o!.ok) return;
    expect(o!.error.code).toBe('VERSION_SKEW');
    expect(o!.error.message).toContain('flotilla-no-such-package');
    expect(o!.error.message).toContain('built for node20');
  });
});

declare const missingName: unknown;

/**
 * Options and inputs that are wrong get an error naming the problem (and the nearest valid key)
 * instead of being ignored; connect() finds a running controller the way the CLI does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { clusterMap, closeDefaultSession, connect, flow } from '../../client/index.js';
import type { ConnectOptions } from '../../client/index.js';
import { Controller } from '../../server/controller.js';
import type { ControllerOptions } from '../../server/controller.js';
import { rejection } from '../support/async.js';
import { startCliController } from '../support/cli-controller.js';
import type { CliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';

const lib = pathToFileURL(join(import.meta.dirname, '../../dist/client/index.js')).href;
const files = Reaper.afterAll(); // after the afterAll below: the default session closes first
const dir = files.tempDir('flotilla-opts-');
let ctl: CliController;
beforeAll(async () => {
  ctl = await startCliController(files, ['--agents', '1']);
}, 60_000);
afterAll(() => closeDefaultSession());

const badConnect = (o: unknown) => rejection(connect(o as ConnectOptions));
const badStart = (o: unknown) => rejection(Controller.start(o as ControllerOptions));

describe('connect() options are checked', () => {
  it('an unknown connect() option is BAD_INPUT suggesting the nearest: tokenfile -> tokenFile', async () => {
    const err = await badConnect({ url: ctl.url, tokenfile: ctl.tokenFile });
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toBe('connect(): tokenfile is not an option (did you mean tokenFile?)');
  });

  it('pools given with url is BAD_INPUT pointing to flotilla controller --config', async () => {
    const err = await badConnect({ url: ctl.url, pools: { local: { launcher: 'local' } } });
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/pools set up an embedded controller and cannot be given with url.*flotilla controller --config/);
  });

  it('a wrong type names the option and the value given', async () => {
    const err = await badConnect({ url: 7711 });
    expect(err.message).toBe('connect(): url: expected string, got 7711');
    expect((await badConnect({ waitForAgents: 'two' })).message).toContain('waitForAgents: expected number, got "two"');
  });

  it('an unknown pool option is BAD_INPUT naming the pool and the nearest key', async () => {
    const err = await badConnect({ pools: { a: { launcher: 'local', agnets: 2 } } });
    expect(err.message).toBe('connect(): pools.a.agnets is not an option (did you mean agents?)');
    expect((await badConnect({ pools: { a: { launcher: 'lcal' } } })).message).toContain("pools.a.launcher: launcher must be 'local', 'ssh', 'slurm' or 'sge', got \"lcal\"");
    expect((await badConnect({ controller: { prot: 3 } })).message).toContain('controller.prot is not an option (did you mean port?)');
  });

  it('unknown controller and pool keys are errors at Controller.start too, ssh and slurm included', async () => {
    expect((await badStart({ prot: 3 })).message).toBe('controller options: prot is not an option (did you mean port?)');
    const ssh = await badStart({ pools: { lab: { launcher: 'ssh', hosts: ['h'], identtyFile: '/k' } } });
    expect(ssh.message).toContain('pools.lab.identtyFile is not an option (did you mean identityFile?)');
    const slurm = await badStart({ pools: { hpc: { launcher: 'slurm', resources: { partiton: 'debug' } } } });
    expect(slurm.message).toContain('pools.hpc.resources.partiton is not an option (did you mean partition?)');
    const local = await badStart({ pools: { l: { launcher: 'local', idleTimout: '5m' } } });
    expect(local.message).toContain('pools.l.idleTimout is not an option (did you mean idleTimeout?)');
  });
});

describe('connect() finds a running controller as the CLI does', () => {
  async function program(body: string, env: Record<string, string>) {
    const file = join(dir, `p-${Math.random().toString(36).slice(2)}.mjs`);
    writeFileSync(file, `import { connect } from '${lib}';\n${body}\n`);
    return execa('node', [file], { reject: false, timeout: 60_000, env: { FLOTILLA_URL: '', FLOTILLA_TOKEN: '', ...env } });
  }

  it('connect() with no options uses FLOTILLA_URL and ~/.flotilla/token', async () => {
    const home = join(dir, 'home1');
    mkdirSync(join(home, '.flotilla'), { recursive: true });
    copyFileSync(ctl.tokenFile, join(home, '.flotilla', 'token'));
    const r = await program(
      `const fl = await connect();
       console.log(fl.controller === undefined, JSON.stringify(await fl.map([1, 2], (x) => x + 1)));
       await fl.close();`,
      { FLOTILLA_URL: ctl.url, HOME: home, FLOTILLA_STATE_DIR: '' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('true [2,3]');
  });

  it('tokenFile: "~/..." expands ~ to the home folder', async () => {
    const home = join(dir, 'home2');
    mkdirSync(home, { recursive: true });
    copyFileSync(ctl.tokenFile, join(home, 'ctl-token'));
    const r = await program(
      `const fl = await connect({ url: ${JSON.stringify(ctl.url)}, tokenFile: '~/ctl-token' });
       console.log((await fl.agents()).pools.length);
       await fl.close();`,
      { HOME: home },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('1');
  });

  it('clusterMap stays embedded whatever FLOTILLA_URL says', async () => {
    const r = await program(
      `const { clusterMap } = await import('${lib}');
       console.log(JSON.stringify(await clusterMap([1, 2], (x) => x * 5)));`,
      { FLOTILLA_URL: 'http://127.0.0.1:9' },
    );
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('[5,10]');
  });

  it('a wrong token from FLOTILLA_TOKEN is UNAUTHORIZED', async () => {
    const r = await program(
      `try { await connect({ url: ${JSON.stringify(ctl.url)} }); } catch (e) { console.log(e.code); }`,
      { FLOTILLA_TOKEN: 'bad', HOME: dir },
    );
    expect(r.stdout).toBe('UNAUTHORIZED');
  });
});

describe('map items and signals', () => {
  it('clusterMap of a plain object or a Promise is BAD_INPUT, not []', async () => {
    const obj = await rejection(clusterMap({ a: 1 } as never, (x: number) => x));
    expect(obj.code).toBe('BAD_INPUT');
    expect(obj.message).toMatch(/items must be an array or another iterable.*got an object that is neither \(keys a\); for its values use Object.values/);
    const promise = await rejection(clusterMap(Promise.resolve([1]) as never, (x: number) => x));
    expect(promise.code).toBe('BAD_INPUT');
    expect(promise.message).toContain('got a Promise: await it first');
    expect((await rejection(clusterMap(7 as never, (x: number) => x))).message).toContain('got number');
  });

  it('iterables and array-likes still map', async () => {
    expect(await clusterMap(new Set([1, 2]), (x) => x * 3)).toEqual([3, 6]);
    expect(await clusterMap({ length: 2, 0: 'a', 1: 'b' }, (s) => s.toUpperCase())).toEqual(['A', 'B']);
    expect(await clusterMap([], (x) => x)).toEqual([]);
  });

  it('a job whose AbortSignal.timeout fires fails TIMEOUT, an aborted one CANCELLED', async () => {
    const slow = (ms: number) => new Promise((r) => setTimeout(r, ms));
    const timedOut = await rejection(clusterMap([20_000], slow, { signal: AbortSignal.timeout(300) }));
    expect(timedOut.code).toBe('TIMEOUT');
    expect(timedOut.message).toMatch(/timed out/);
    expect(timedOut.context.timedOut).toBe(true);
    const ac = new AbortController();
    const job = clusterMap([20_000], slow, { signal: ac.signal });
    setTimeout(() => ac.abort(), 300);
    expect((await rejection(job)).code).toBe('CANCELLED');
    const flowRun = flow([{ ms: 20_000 }], { cache: false }).stage('slow', ({ ms }) => new Promise((r) => setTimeout(r, ms))).collect({ progress: false, signal: AbortSignal.timeout(300) });
    expect((await rejection(flowRun)).code).toBe('TIMEOUT');
    const expired = AbortSignal.timeout(1);
    await new Promise((r) => expired.addEventListener('abort', r));
    expect((await rejection(clusterMap([1], (x) => x, { signal: expired }))).code).toBe('TIMEOUT');
  });
});

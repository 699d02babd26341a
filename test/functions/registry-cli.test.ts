/**
 * Functions registered by name on a standalone controller (the CLI, its own process): one client
 * registers, a second client process that never saw the function calls it by name, the CLI
 * lists, shows and removes it, and the registry survives a controller restart.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { FunctionInfo } from '../../client/index.js';
import { Reaper, ROOT, startFixture, startProcess, tempDir, within } from '../lifecycle/helpers.js';
import type { Proc } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { freePort } from '../support/ports.js';
import { healthy } from '../support/health.js';

const CLI = join(ROOT, 'server', 'cli.ts');

type CallResult = { ok: true; value: number; mapped: number[] } | { ok: false; code: string; message: string };

describe('a function registered by name on a standalone controller', () => {
  it('is called by name from another client process, managed by the CLI, and survives a restart', async () => {
    const reaper = new Reaper();
    const dir = tempDir(reaper);
    const state = join(dir, 'state');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const tokenFile = join(state, 'token');
    const tsx = (args: string[]) => startProcess(reaper, process.execPath, ['--import', 'tsx', CLI, ...args]);
    const startController = async () => {
      const p = tsx(['controller', '--port', String(port), '--state-dir', state, '--agents', '1']);
      await until(async () => (await healthy(url)) || p.child.exitCode !== null, 30_000);
      expect(p.child.exitCode, p.stderr()).toBeNull();
      return p;
    };
    /** Runs a CLI client command to its end; returns its stdout. */
    const cli = async (args: string[]): Promise<{ code: number | null; out: string; err: string }> => {
      const p = tsx([...args, '--url', url, '--token-file', tokenFile]);
      let out = '';
      p.child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      const { code } = await within(p.exited, 30_000, `flotilla ${args.join(' ')}`);
      return { code, out, err: p.stderr() };
    };
    /** A fresh client process that knows the function only by name (and maybe a version). */
    const callFromAnotherProcess = async (name: string, arg: number, version?: string): Promise<CallResult> => {
      const p: Proc = startFixture(reaper, '../../functions/fixtures/registry-call.ts', [url, tokenFile, name, JSON.stringify(arg), ...(version ? [version] : [])]);
      const res = await within(p.nextJson<CallResult>(), 40_000, () => `the calling client; stderr:\n${p.stderr()}`);
      expect((await within(p.exited, 10_000, 'the calling client to leave')).code).toBe(0);
      return res;
    };

    let controller = await startController();
    const fl = await connect({ url, tokenFile });
    const factor = 7;
    const v1 = await fl.functions.register('scale', (x: number) => x * factor, { globals: { factor } });
    expect(await fl.functions.register('scale', (x: number) => x * factor, { globals: { factor } })).toEqual(v1); // idempotent
    const v2 = await fl.functions.register('scale', (x: number) => x * factor + 1, { globals: { factor } });
    expect(v2.version).not.toBe(v1.version);
    expect(await fl.call(v1, 6)).toBe(42); // a handle pins its version
    await fl.close();

    // The latest version by name, and an older one by a prefix of its version.
    expect(await callFromAnotherProcess('scale', 6)).toEqual({ ok: true, value: 43, mapped: [43, 50] });
    expect(await callFromAnotherProcess('scale', 6, v1.version.slice(0, 10))).toEqual({ ok: true, value: 42, mapped: [42, 49] });

    const listed = await cli(['functions', 'list', '--json']);
    expect(listed.code, listed.err).toBe(0);
    const infos = JSON.parse(listed.out) as FunctionInfo[];
    expect(infos.map((f) => [f.name, f.version, f.kind, f.latest])).toEqual([
      ['scale', v1.version, 'inline', false],
      ['scale', v2.version, 'inline', true],
    ]);
    const shown = await cli(['functions', 'show', 'scale']);
    expect(shown.code, shown.err).toBe(0);
    expect(shown.out).toContain(`version ${v2.version} (latest)`);
    expect(shown.out).toContain('globals: factor');

    // A restart keeps the registry: the durable store holds it.
    controller.child.kill('SIGTERM');
    expect((await within(controller.exited, 15_000, 'the controller, stopped')).code).toBe(0);
    controller = await startController();
    expect(await callFromAnotherProcess('scale', 2)).toEqual({ ok: true, value: 15, mapped: [15, 22] });

    // Removing the latest version makes the one before it the latest.
    const removed = await cli(['functions', 'remove', 'scale', v2.version.slice(0, 12)]);
    expect(removed.code, removed.err).toBe(0);
    expect(removed.out).toContain(`removed 1 version(s) of scale: ${v2.version.slice(0, 12)}`);
    expect(await callFromAnotherProcess('scale', 2)).toEqual({ ok: true, value: 14, mapped: [14, 21] });

    const all = await cli(['functions', 'remove', 'scale']);
    expect(all.code, all.err).toBe(0);
    const gone = await callFromAnotherProcess('scale', 2);
    expect(gone).toMatchObject({ ok: false, code: 'NOT_FOUND' });
    expect(gone.ok ? '' : gone.message).toContain('no function is registered as "scale" (none is registered)');
    const none = await cli(['functions', 'list']);
    expect(none.out.trim()).toBe('no functions registered');
    const unknown = await cli(['functions', 'show', 'scale']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain('no function is registered as "scale"');

    controller.child.kill('SIGTERM');
    expect((await within(controller.exited, 15_000, 'the restarted controller, stopped')).code).toBe(0);
  }, 240_000);
});

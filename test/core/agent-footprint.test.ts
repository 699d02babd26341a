/**
 * What an agent thread loads before it needs it: every agent thread (the supervisor and each
 * lane) holds its own compiled copy of each Node builtin it loads, so builtins only rare paths
 * use (TLS for wss:// URLs, zlib for compression the agent turns off, child processes for flow
 * units) wait for their first use. Checked on a real local agent from the bundle.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 1 } }, waitForAgents: 1 });
});
afterAll(() => fl?.close());

/** Builtins (by their public name) loaded in the thread a task runs in. */
const loadedBuiltins = () => {
  const list = (process as unknown as { moduleLoadList: string[] }).moduleLoadList;
  return list.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice('NativeModule '.length));
};

describe('an idle agent thread', () => {
  it('has not loaded https, tls, zlib or child_process before a task needs them, and a task that needs one gets it', async () => {
    const [before] = await fl.map([0], () => loadedBuiltins(), { globals: { loadedBuiltins } });
    expect(before).toContain('http'); // the list is real: the channel's ws needs http
    for (const m of ['https', 'tls', 'zlib', 'child_process']) expect(before).not.toContain(m);

    // A task that needs one gets it at once.
    const [out] = await fl.map([0], async () => {
      // (Through Function: the test runner rewrites a literal import() in this file.)
      const { execFileSync } = (await new Function('return import("node:child_process")')()) as typeof import('node:child_process');
      return execFileSync(process.execPath, ['-e', 'process.stdout.write("ran")'], { encoding: 'utf8' });
    });
    expect(out).toBe('ran');
  });
});

import { afterAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { copyFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../../server/controller.js';
import { connect } from '../../client/index.js';
import { until } from '../support/async.js';

const bundle = join(import.meta.dirname, '../../dist/agent.mjs');
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('the agent bundle', () => {
  it('is one file that a bare node runs far from any node_modules', async () => {
    const lonely = mkdtempSync(join(tmpdir(), 'flotilla-bundle-'));
    const state = mkdtempSync(join(tmpdir(), 'flotilla-bundle-state-'));
    dirs.push(lonely, state);
    copyFileSync(bundle, join(lonely, 'agent.mjs'));
    expect(readdirSync(lonely)).toEqual(['agent.mjs']);

    const controller = await Controller.start({ stateDir: state, pools: { solo: { launcher: 'local', agents: 1 } }, log: () => {} });
    const fl = await connect({ url: controller.url, token: controller.token });
    // Stop the pool's own agent so that only the copied bundle can run the job.
    await controller.pools.get('solo')!.close();
    const creds = controller.registry.issue('solo', controller.agentUrl, { slots: 1 });
    // stdin stays open after the credentials, as a launcher keeps it: its end means "exit".
    const agent = execa('node', [join(lonely, 'agent.mjs')], { cwd: lonely, stdin: 'pipe', reject: false, env: { NODE_PATH: '' } });
    agent.stdin!.write(JSON.stringify(creds) + '\n');
    try {
      await until(() => [...controller.scheduler.lanes].some((l) => l.agentId === creds.agentId));
      const big = 10n ** 30n;
      expect(await fl.map([1, 2], (x) => ({ x, big: big + BigInt(x), f: new Float64Array([x]) }), { pool: 'solo', globals: { big } })).toEqual([
        { x: 1, big: 10n ** 30n + 1n, f: new Float64Array([1]) },
        { x: 2, big: 10n ** 30n + 2n, f: new Float64Array([2]) },
      ]);
    } finally {
      await fl.close();
      await controller.close(); // tells the agent to exit
    }
    const exit = await agent;
    expect(exit.exitCode).toBe(0);
  });
});

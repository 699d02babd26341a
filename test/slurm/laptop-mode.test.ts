/**
 * Laptop mode, the topology nobody in this field does well: the controller on a "laptop" (its own
 * network namespace) that reaches only the login node's sshd; agents in SLURM partition `fw` on a
 * firewalled compute node (another namespace) that reaches only the login node. Agents connect
 * back through the relay on the login node and the SSH tunnel, and nothing else.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { laptop, netns, slurm } from '../fixtures/index.js';
import type { LaptopFixture, NetnsFixture } from '../fixtures/index.js';
import { until, within } from '../support/async.js';

let lp: LaptopFixture;
let ns: NetnsFixture;
beforeAll(async () => {
  ns = await netns();
  lp = await laptop();
  await slurm({ fwNode: true });
}, 240_000);

const dialScript = (host: string, port: number | string) =>
  `require('net').connect(${port}, '${host}').on('connect', () => process.exit(0)).on('error', () => process.exit(3)); setTimeout(() => process.exit(4), 3000)`;

describe('laptop mode: controller on a laptop, agents on a firewalled compute node', () => {
  it('runs a map through relay and tunnel only; the direct paths are blocked', async () => {
    const script = new URL('./fixtures/laptop-controller.ts', import.meta.url).pathname;
    // Its own pool name: the SLURM fixture is shared, and its jobs are found by name below.
    const pool = `hpc-${process.pid.toString(36)}`;
    const child = lp.spawn(['node', '--import', 'tsx', script, lp.sshConfig, lp.knownHosts, lp.ip, pool], { cwd: new URL('../..', import.meta.url).pathname });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    const done = await within(Promise.resolve(child), 120_000, 'the laptop controller');
    expect(done.exitCode, err).toBe(0);
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as { agentUrl: string; results: { x: number; node: string; job: string }[]; logs: string[] };
    expect(report.results.map((r) => r.x)).toEqual([1, 4, 9, 16, 25, 36]);
    expect(report.results.every((r) => r.node === 'hpcnode' && r.job)).toBe(true); // ran in fw jobs on the firewalled node

    // The compute node cannot dial the laptop's controller, and the laptop cannot dial the node.
    const port = new URL(report.agentUrl).port;
    expect(new URL(report.agentUrl).hostname).toBe(lp.ip);
    expect((await ns.run(['node', '-e', dialScript(lp.ip, port)], { timeoutMs: 8_000 })).exitCode).not.toBe(0);
    expect((await lp.run(['node', '-e', dialScript(ns.nodeIp, 22)], { timeoutMs: 8_000 })).exitCode).not.toBe(0);
    // Nor can the laptop reach the login node other than by its sshd.
    expect((await lp.run(['node', '-e', dialScript(lp.loginIp, 7812)], { timeoutMs: 8_000 })).exitCode).not.toBe(0);

    // close() cancelled the jobs.
    await until(async () => !(await execa('squeue', ['-h', '-o', '%j'])).stdout.split('\n').includes(`flotilla-${pool}`), 15_000);
  }, 180_000);
});

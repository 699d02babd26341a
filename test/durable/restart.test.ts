/**
 * Durable jobs: a standalone controller (the CLI, its own process) is SIGKILLed mid-job and
 * started again on the same state folder. The job goes on where it stopped, and a client process
 * that was never connected before collects every result exactly once: results seen before the
 * crash are the same results after it (not re-run), and only tasks running at the crash ran twice.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { Reaper, ROOT, isGone, startAgent, startFixture, startProcess, tempDir, waitGone, within } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { freePort } from '../support/ports.js';
import { healthy } from '../support/health.js';

const CLI = join(ROOT, 'dist', 'server', 'cli.js');
const N = 400;

describe('a durable job across a controller crash', () => {
  it('is finished after a restart, and a new client process collects each result once', async () => {
    const reaper = new Reaper();
    {
      const dir = tempDir(reaper);
      const state = join(dir, 'state');
      const execLog = join(dir, 'executions.log');
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const tokenFile = join(state, 'token');
      const startController = () => startProcess(reaper, process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '2']);

      const first = startController();
      await until(() => healthy(url), 15_000);
      const submitter = startFixture(reaper, '../../durable/fixtures/submit.ts', [url, tokenFile, String(N), execLog]);
      const { jobId } = await within(submitter.nextJson<{ jobId: string }>(), 20_000, 'the submitting client');
      expect((await within(submitter.exited, 10_000, 'the submitter to leave')).code).toBe(0);

      // Another client watches some results arrive, then the controller dies mid-job.
      const seen = new Map<number, { value: unknown; agentId?: string; attempt?: number }>();
      const watcher = await connect({ url, tokenFile });
      for await (const o of watcher.attach<number>(jobId)) {
        if (o.ok) seen.set(o.index, { value: o.value, agentId: o.agentId, attempt: o.attempt });
        if (seen.size >= N / 4) break;
      }
      const agentPids = (await watcher.agents()).lanes.map((l) => l.pid);
      agentPids.forEach((pid) => reaper.pid(pid));
      await watcher.close();
      first.child.kill('SIGKILL');
      await within(first.exited, 5_000, 'the killed controller');
      const doneAtCrash = readFileSync(execLog, 'utf8').trim().split('\n').length;
      expect(doneAtCrash).toBeLessThan(N);
      // Its local agents lose their lifeline and leave.
      await waitGone(agentPids, 10_000, 'agents of the killed controller');

      const second = startController();
      await until(() => healthy(url), 15_000);
      const collector = startProcess(reaper, process.execPath, [CLI, 'collect', jobId, '--url', url, '--token-file', tokenFile]);
      const out: string[] = [];
      collector.child.stdout.setEncoding('utf8');
      collector.child.stdout.on('data', (d: string) => out.push(d));
      const ended = await within(collector.exited, 30_000, 'collect from a new client process');
      expect(ended.code, collector.stderr()).toBe(0);

      const lines = out.join('').trim().split('\n').map((l) => JSON.parse(l) as { index: number; ok: boolean; value: number; agentId?: string; attempt?: number });
      expect(lines.map((r) => r.index)).toEqual(Array.from({ length: N }, (_, i) => i));
      for (const r of lines) {
        expect(r.ok).toBe(true);
        expect(r.value).toBe(r.index * 3 + 1);
      }
      // What a client saw before the crash is what it gets after: the same run, not a re-run.
      for (const [i, s] of seen) expect({ agentId: lines[i]!.agentId, attempt: lines[i]!.attempt, value: lines[i]!.value }).toEqual(s);

      const counts = new Map<number, number>();
      for (const l of readFileSync(execLog, 'utf8').trim().split('\n')) counts.set(Number(l), (counts.get(Number(l)) ?? 0) + 1);
      expect(counts.size).toBe(N);
      const twice = [...counts].filter(([, c]) => c > 1).map(([i]) => i);
      // Only tasks that were running (or whose results were not yet committed) at the crash re-ran.
      expect(twice.length).toBeLessThanOrEqual(8);
      for (const i of twice) expect(seen.has(i)).toBe(false);

      const secondPids = (await (async () => {
        const fl = await connect({ url, tokenFile });
        try {
          const pids = (await fl.agents()).lanes.map((l) => l.pid);
          pids.forEach((pid) => reaper.pid(pid));
          return pids;
        } finally {
          await fl.close();
        }
      })());
      second.child.kill('SIGTERM');
      expect((await within(second.exited, 10_000, 'the restarted controller, stopped')).code).toBe(0);
      await waitGone(secondPids, 5_000, 'agents of the stopped controller');
      expect(secondPids.every(isGone)).toBe(true);
    }
  }, 90_000);
});

describe('an agent that outlives its controller', () => {
  it('reconnects to the restarted controller, whose store still knows its key, and finishes the job', async () => {
    const reaper = new Reaper();
    const dir = tempDir(reaper);
    const state = join(dir, 'state');
    const creds = join(dir, 'agent.json');
    const port = await freePort();
    const first = startFixture(reaper, '../../durable/fixtures/controller.ts', [state, String(port), creds]);
    const { url, token } = await within(first.nextJson<{ url: string; token: string }>(), 20_000, 'the first controller');
    // The agent's lifeline is not the controller: only its 30 s grace period would end it.
    const agent = startAgent(reaper, { args: ['--credentials-file', creds] });

    const fl = await connect({ url, token, waitForAgents: 2 });
    const agentId = (JSON.parse(readFileSync(creds, 'utf8')) as { agentId: string }).agentId;
    const n = 150;
    // 100 ms a task: after the restart the rest takes seconds, longer than the agent's redial
    // (backoff at most 5 s), so on a loaded machine too it is back before the job can end.
    const jobId = await fl.submit(Array.from({ length: n }, (_, i) => i), async (i: number) => {
      await new Promise((r) => setTimeout(r, 100));
      return i * i;
    });
    await until(async () => (await fl.status(jobId)).done >= 30, 20_000);
    const doneBefore = (await fl.status(jobId)).done;
    await fl.close();
    first.child.kill('SIGKILL');
    await within(first.exited, 5_000, 'the killed controller');
    expect(isGone(agent.pid)).toBe(false);

    const second = startFixture(reaper, '../../durable/fixtures/controller.ts', [state, String(port)]);
    await within(second.nextJson(), 20_000, 'the restarted controller');
    const again = await connect({ url, token });
    const outcomes = await within(again.attach<number>(jobId).outcomes(), 30_000, 'the resumed job');
    expect(outcomes.map((o) => (o.ok ? o.value : o.error.message))).toEqual(Array.from({ length: n }, (_, i) => i * i));
    // The agent that outlived the crash is back (the same process) and ran part of the rest.
    const { lanes } = await again.agents();
    const lane = lanes.find((l) => l.agentId === agentId);
    expect(lane?.pid).toBe(agent.pid);
    expect(lane?.completed).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(n);
    await again.close();
  }, 60_000);
});

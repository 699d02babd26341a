/**
 * `flotilla dashboard` and what the CLI says about the dashboard and a job's usage: the controller
 * prints the login URL once, the command prints the same (or opens it), and `flotilla status`
 * shows what the job's tasks used.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '../../client/index.js';
import { runCli, startCliController } from '../support/cli-controller.js';
import type { CliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';

const reaper = Reaper.afterAll();
let ctl: CliController;

beforeAll(async () => {
  ctl = await startCliController(reaper, ['--agents', '1', '--no-durable']);
}, 60_000);

describe('flotilla dashboard', () => {
  it('prints the login URL the controller printed at start, which logs a browser in', async () => {
    const token = readFileSync(ctl.tokenFile, 'utf8').trim();
    const printed = /dashboard: (\S+)/.exec(ctl.stdout())![1]!;
    expect(printed).toBe(`${ctl.url}/?token=${encodeURIComponent(token)}`);
    const r = await runCli(['dashboard', '--url', ctl.url, '--token-file', ctl.tokenFile]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(printed);
    const login = await fetch(printed, { redirect: 'manual' });
    expect(login.status).toBe(303);
    expect(login.headers.get('location')).toBe('/');
  });

  it('opens the URL with xdg-open when asked', async () => {
    const bin = reaper.tempDir('flotilla-open-');
    const seen = join(bin, 'opened');
    writeFileSync(join(bin, 'xdg-open'), `#!/bin/sh\nprintf '%s' "$1" > ${seen}\n`);
    chmodSync(join(bin, 'xdg-open'), 0o755);
    const r = await runCli(['dashboard', '--open', '--url', ctl.url, '--token-file', ctl.tokenFile], { PATH: `${bin}:${process.env.PATH}` });
    expect(r.exitCode, r.stderr).toBe(0);
    await expect.poll(() => { try { return readFileSync(seen, 'utf8'); } catch { return ''; } }, { timeout: 10_000 }).toBe(r.stdout.trim());
  });

  it('fails within seconds, naming the problem, with a wrong token', async () => {
    const bad = join(reaper.tempDir('flotilla-tok-'), 'token');
    writeFileSync(bad, 'not-the-token\n', { mode: 0o600 });
    const r = await runCli(['dashboard', '--url', ctl.url, '--token-file', bad], {}, 15_000);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/UNAUTHORIZED/);
  });
});

describe('flotilla status <id>', () => {
  it("shows the job's usage summary: duration percentiles, memory, the slowest tasks", async () => {
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile });
    try {
      const job = fl.map([1, 2, 3, 4], async (x: number) => {
        await new Promise((r) => setTimeout(r, 10 * x));
        return x;
      });
      await job;
      const r = await runCli(['status', await job.id, '--url', ctl.url, '--token-file', ctl.tokenFile]);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/4\/4 done/);
      expect(r.stdout).toMatch(/usage of 4 task\(s\) that ran: duration p50 \d+ ms, p90 \d+ ms, p99 \d+ ms, max \d+ ms/);
      expect(r.stdout).toMatch(/agent peak memory while a task ran: p50 \d+(\.\d)? MB/);
      expect(r.stdout).toMatch(/slowest: #3 \d+ ms on /);
    } finally {
      await fl.close();
    }
  });
});

/**
 * The CLI as a user meets it: real `flotilla` processes against a real controller. Every
 * command fails fast and clearly (never waits on a socket that keeps reconnecting), exit codes
 * tell scripts what happened, and what the controller prints is true.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '../../client/index.js';
import { freePort } from '../support/ports.js';
import { runCli, startCliController } from '../support/cli-controller.js';
import type { CliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';

const files = Reaper.afterAll();
let ctl: CliController;
beforeAll(async () => {
  ctl = await startCliController(files, ['--agents', '1']);
}, 60_000);

describe('CLI commands that cannot reach a controller', () => {
  it('a CLI command on a closed port fails with CLOSED cannot reach, not a hang', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    for (const cmd of [['jobs'], ['agents'], ['status', 'j-1'], ['collect', 'j-1'], ['logs'], ['flows']]) {
      const r = await runCli([...cmd, '--url', url]);
      expect(r.timedOut, cmd.join(' ')).toBe(false);
      expect(r.exitCode, cmd.join(' ')).not.toBe(0);
      expect(r.stderr).toContain(`CLOSED cannot reach a controller at ${url} (ECONNREFUSED)`);
    }
  });

  it('a CLI command with a wrong token fails with UNAUTHORIZED refused the token', async () => {
    const r = await runCli(['jobs', '--url', ctl.url], { FLOTILLA_TOKEN: 'bad' });
    expect(r.timedOut).toBe(false);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`UNAUTHORIZED the controller at ${ctl.url} refused the token`);
  });

  it('a CLI command at an address that is not a controller says so', async () => {
    const other = createServer((_req, res) => res.writeHead(404).end('nothing here'));
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
      const r = await runCli(['jobs', '--url', url, '--token-file', ctl.tokenFile]);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(`CLOSED ${url} answered 404: is it a flotilla controller?`);
    } finally {
      other.close();
    }
  });

  it('a CLI command given a URL that is not one fails with BAD_INPUT', async () => {
    const r = await runCli(['jobs', '--url', 'localhost 7711']);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/BAD_INPUT url must be the controller's address/);
  });

  it('reads the URL from FLOTILLA_URL and the token from --token-file', async () => {
    const r = await runCli(['jobs', '--token-file', ctl.tokenFile], { FLOTILLA_URL: ctl.url });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
  });
});

describe('a CLI command whose controller goes away', () => {
  it('collect waiting on a controller that dies fails with CLOSED lost the controller, not a hang', async () => {
    const doomed = await startCliController(new Reaper(), ['--agents', '1']);
    try {
      const fl = await connect({ url: doomed.url, tokenFile: doomed.tokenFile });
      const id = await fl.submit([60_000], (ms) => new Promise((r) => setTimeout(r, ms)));
      await fl.close();
      const collect = runCli(['collect', id, '--url', doomed.url, '--token-file', doomed.tokenFile], {}, 60_000);
      // Once the CLI holds its WebSocket to the controller (it waits on the job there), the controller dies.
      const port = new URL(doomed.url).port;
      const connected = async () => (await execa('ss', ['-Htnp', 'state', 'established', `( dport = :${port} )`])).stdout.includes(`pid=${collect.pid},`);
      await expect.poll(connected, { timeout: 20_000, interval: 100 }).toBe(true);
      await doomed.kill();
      const r = await collect;
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(`CLOSED lost the controller at ${doomed.url}`);
    } finally {
      await doomed.stop().catch(() => {});
    }
  }, 90_000);
});

describe('CLI exit codes and output', () => {
  it('collect exits non-zero when tasks failed, after printing every result', async () => {
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile });
    let id: string;
    try {
      const job = fl.map([1, 2, 3], (x) => {
        if (x === 2) throw new Error('two is bad');
        return x;
      });
      id = await job.id;
      await job.outcomes();
    } finally {
      await fl.close();
    }
    const r = await runCli(['collect', id, '--url', ctl.url, '--token-file', ctl.tokenFile]);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).ok)).toEqual([true, false, true]);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`1 of 3 task(s) of ${id} failed`);

    const fl2 = await connect({ url: ctl.url, tokenFile: ctl.tokenFile });
    const okId = await fl2.submit([1, 2], (x) => x);
    await fl2.attach(okId);
    await fl2.close();
    const ok = await runCli(['collect', okId, '--url', ctl.url, '--token-file', ctl.tokenFile]);
    expect(ok.exitCode).toBe(0);
  });

  it('logs of an agent that does not exist is an error, not silence', async () => {
    const r = await runCli(['logs', 'nope', '--url', ctl.url, '--token-file', ctl.tokenFile]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('NOT_FOUND no such agent: nope');
    const all = await runCli(['logs', '--url', ctl.url, '--token-file', ctl.tokenFile, '--json']);
    expect(all.exitCode).toBe(0);
    const agentId = (JSON.parse(all.stdout) as { agentId: string }[])[0]!.agentId;
    const one = await runCli(['logs', agentId, '--url', ctl.url, '--token-file', ctl.tokenFile]);
    expect(one.exitCode).toBe(0);
    expect(one.stdout).toContain(`${agentId}: agent ${agentId} pid`);
  });

  it('agent log lines carry one prefix, the controller\'s, not the agent\'s too', async () => {
    const agentLine = /local-[0-9a-f]+: agent local-[0-9a-f]+ pid \d+/;
    await expect.poll(() => ctl.stderr(), { timeout: 30_000 }).toMatch(agentLine);
    expect(ctl.stderr()).not.toContain('[flotilla-agent');
    const logs = await runCli(['logs', '--url', ctl.url, '--token-file', ctl.tokenFile]);
    expect(logs.stdout).toMatch(agentLine);
    expect(logs.stdout).not.toContain('[flotilla-agent');
  });

  it('controller --help names tokenFile, as connect() and the docs do', async () => {
    const r = await runCli(['controller', '--help']);
    expect(r.stdout).toContain('connect({ url, tokenFile })');
    expect(r.stdout).not.toMatch(/connect\(\{ url, token \}\)/);
    expect(r.stdout).toContain('--config <file>');
  });

  it('the controller prints where local agents really dial: its Unix socket', () => {
    const line = /local agents dial: (\S+)/.exec(ctl.stdout());
    expect(line?.[1]).toMatch(/^ws\+unix:|\.sock|unix/);
    expect(ctl.stdout()).not.toMatch(/^agents dial: ws:\/\//m);
    expect(ctl.stdout()).not.toContain('remote agents dial'); // no SSH or SLURM pool here
  });
});

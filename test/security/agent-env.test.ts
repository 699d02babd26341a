/**
 * Agents get an allow-listed environment, never the controller's whole one: whoever can submit a
 * task can read its agent's environment, so the controller's secrets must not be there. Read from
 * each agent's real /proc/<pid>/environ: local agents of a CLI controller, local agents of an
 * embedded one (with the pool's `env`), and agents inside SLURM jobs (sbatch exports its own
 * environment into the job).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import { slurm } from '../fixtures/index.js';
import { Reaper, within } from '../lifecycle/helpers.js';
import { startCliController } from '../support/cli-controller.js';

const SECRETS = { FLOTILLA_TOKEN: 'secret-token-4f1c', FLOTILLA_SSH_PASSPHRASE: 'secret-passphrase-9b2e', AWS_SECRET_ACCESS_KEY: 'secret-aws-77aa' };

function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean)) {
    const i = kv.indexOf('=');
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

function expectNoSecrets(env: Record<string, string>): void {
  const text = Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n');
  for (const [name, value] of Object.entries(SECRETS)) {
    expect(env[name], name).toBeUndefined();
    expect(text).not.toContain(value);
  }
  expect(env.PATH).toBeTruthy();
  expect(env.HOME).toBeTruthy();
}

/** Sets the secrets in this process's environment for the test. */
function withSecrets(reaper: Reaper): void {
  const saved = Object.fromEntries(Object.keys(SECRETS).map((k) => [k, process.env[k]]));
  Object.assign(process.env, SECRETS);
  reaper.add(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });
}

describe('the environment of agents', { timeout: 90_000 }, () => {
  it("agents inherit the controller's whole environment: a CLI controller's local agents get neither FLOTILLA_TOKEN nor FLOTILLA_SSH_PASSPHRASE", async () => {
    const reaper = new Reaper();
    const c = await startCliController(reaper, ['--agents', '1'], { env: { ...process.env, ...SECRETS } });
    const fl = await connect({ url: c.url, tokenFile: c.tokenFile, waitForAgents: 1 });
    reaper.add(() => fl.close());
    const [lane] = (await fl.agents()).lanes;
    expect(environOf(c.proc.pid).FLOTILLA_TOKEN).toBe(SECRETS.FLOTILLA_TOKEN); // the controller had it
    expectNoSecrets(environOf(lane!.pid));
    // What task code sees is the same.
    const [seen] = await fl.map([0], () => Object.keys(process.env).filter((k) => /TOKEN|PASSPHRASE|SECRET/.test(k)));
    expect(seen).toEqual([]);
  });

  it("agents inherit the controller's whole environment: an embedded controller's local agents get the allow-list and the pool's env only", async () => {
    const reaper = new Reaper();
    withSecrets(reaper);
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 1, env: { FLOTILLA_ENV_TEST: 'from-the-pool' } } }, waitForAgents: 1 });
    reaper.add(() => fl.close());
    const [lane] = (await fl.agents()).lanes;
    const env = environOf(lane!.pid);
    expectNoSecrets(env);
    expect(env.FLOTILLA_ENV_TEST).toBe('from-the-pool');
  });

  it("agents inherit the controller's whole environment: agents in SLURM jobs get no secret through sbatch's export", async () => {
    await slurm();
    const reaper = new Reaper();
    withSecrets(reaper);
    const fl = await connect({ pools: { env: { launcher: 'slurm', agents: 1, slots: 1, resources: { time: '10m' }, graceMs: 3000, pollSeconds: 1 } }, waitForAgents: 1, waitForAgentsTimeoutMs: 120_000 });
    reaper.add(() => fl.close());
    const [pid] = await within(fl.map([0], () => process.pid, { pool: 'env' }), 60_000, 'a task in the SLURM job');
    const env = environOf(pid!);
    expect(env.SLURM_JOB_ID).toBeTruthy(); // it is the agent in the job
    expectNoSecrets(env);
  }, 180_000);
});

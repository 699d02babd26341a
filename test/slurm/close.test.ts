/**
 * close() of the batch launcher against a real SLURM (test/fixtures/slurm-up.sh): a submission
 * under way when it is called (sbatch started, its job id not known yet) is waited for, and what
 * it submitted is cancelled before close() returns.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { slurm } from '../fixtures/index.js';
import { until } from '../support/async.js';
import { BatchLauncher } from '../../server/launchers/batch/launcher.js';
import { slurm as slurmSystem, type SlurmRequest } from '../../server/launchers/slurm/system.js';
import { slurmRequest } from '../../server/launchers/slurm/launcher.js';
import type { SlurmPoolOptions } from '../../contract/batch-pool-options.js';

let dir: string;
beforeAll(async () => {
  await slurm();
  dir = mkdtempSync(join(tmpdir(), 'flotilla-slurm-close-'));
}, 180_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SLURM launcher close', () => {
  it('waits for a submission under way and cancels the job it submitted before returning', async () => {
    // sbatch is held until the test says go, and records the job id it printed.
    const started = join(dir, 'started'), go = join(dir, 'go'), idFile = join(dir, 'jobid');
    const held = {
      ...slurmSystem,
      submitCommand: (script: string, n: number) =>
        `touch ${started}; while [ -d ${dir} ] && [ ! -e ${go} ]; do sleep 0.1; done; out=$(${slurmSystem.submitCommand(script, n)}); rc=$?; printf %s "$out" > ${idFile}; printf '%s\\n' "$out"; exit $rc`,
    };
    // It may not start for an hour: it stays PENDING in the queue unless it is cancelled.
    const opts: SlurmPoolOptions = { launcher: 'slurm', resources: { time: '10m' }, begin: '1h', workDir: dir };
    const logs: string[] = [];
    const launcher = new BatchLauncher<SlurmRequest>(`inflight${process.pid}`, opts, held, slurmRequest(opts), 'ws://127.0.0.1:9/agent', (l) => logs.push(l));
    const launched = launcher.launch({ agentId: 'inflight-agent', secretKey: 'x', controllerKey: 'y', url: 'ws://127.0.0.1:9/agent' });
    launched.catch(() => {});
    await until(() => existsSync(started), 30_000);
    const closing = launcher.close();
    rmSync(go, { force: true });
    await execa('touch', [go]);
    await closing;
    try {
      // close() returned only once sbatch had answered...
      expect(existsSync(idFile)).toBe(true);
      const id = readFileSync(idFile, 'utf8').trim();
      expect(id).toMatch(/^\d+$/);
      // ...and that job is cancelled, never left PENDING for an hour.
      const { stdout } = await execa('scontrol', ['-o', 'show', 'job', id]);
      expect(stdout).toMatch(/JobState=CANCELLED/);
      expect(logs.join('\n')).toMatch(new RegExp(`cancelled array ${id}, submitted while the launcher closed`));
      await expect(launched).rejects.toMatchObject({ code: 'CLOSED' });
    } finally {
      if (existsSync(idFile)) await execa('scancel', [readFileSync(idFile, 'utf8').trim()], { reject: false });
    }
  });
});

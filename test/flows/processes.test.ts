/**
 * Flows across processes: a run killed mid-flow is resubmitted and finished rows are not run
 * again (counted by the lines the stage appends, not by reported flags); a flow submitted by one
 * process is followed and collected by another process and by the CLI.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { Reaper, ROOT, startProcess, tempDir, within } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { freePort } from '../support/ports.js';
import { newTag, TAG_VAR, waitNoneTagged } from '../support/procs.js';
import { healthy } from '../support/health.js';

const CLI = join(ROOT, 'dist', 'server', 'cli.js');
const CLIENT = join(ROOT, 'test', 'flows', 'fixtures', 'flow-client.ts');
const lines = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []);
const count = (file: string, line: string) => lines(file).filter((l) => l === line).length;

describe('flows across processes', () => {
  it('a run SIGKILLed mid-flow, resubmitted with the same cache folder, does not re-run finished rows', async () => {
    const reaper = new Reaper();
    const dir = tempDir(reaper);
    const runs = join(dir, 'runs.log');
    const gate = join(dir, 'gate');
    const tag = newTag();
    const env = { ...process.env, FLOTILLA_CACHE_DIR: join(dir, 'cache'), [TAG_VAR]: tag };
    const client = (extra: string[]) => startProcess(reaper, process.execPath, ['--import', 'tsx', CLIENT, 'embedded', runs, gate, '6', '4', ...extra], env);

    const first = client([]);
    const { id: firstId } = await within(first.nextJson<{ id: string }>(), 30_000, 'the first run to submit');
    await within(first.nextJson<{ ready: boolean }>(), 30_000, () => `rows 0-3 to finish; stderr: ${first.stderr()}`);
    first.child.kill('SIGKILL');
    await within(first.exited, 5_000, 'the killed run');
    // Its agents watch their parent and leave with it.
    await waitNoneTagged(tag, 15_000, 'agents of the killed run');
    for (const x of [0, 1, 2, 3]) expect(count(runs, `done ${x}`)).toBe(1);
    expect(count(runs, 'done 4') + count(runs, 'done 5')).toBe(0);

    writeFileSync(gate, '');
    const second = client([]);
    const { id } = await within(second.nextJson<{ id: string }>(), 30_000, 'the second run to submit');
    expect(id).not.toBe(firstId);
    await within(second.nextJson(), 30_000, 'ready'); // { ready }
    const { rows } = await within(second.nextJson<{ rows: { x: number; work: number; twice: number; status: string; cached?: true }[] }>(), 30_000, () => `the second run; stderr: ${second.stderr()}`);
    expect((await within(second.exited, 15_000, 'the second run to exit')).code).toBe(0);
    expect(rows.map((r) => [r.x, r.status, r.work, r.twice])).toEqual([0, 1, 2, 3, 4, 5].map((x) => [x, 'ok', x * x, 2 * x * x]));
    expect(rows.map((r) => r.cached ?? false)).toEqual([true, true, true, true, false, false]);
    // Each finished row ran once in all: the resubmit sent only rows 4 and 5.
    for (const x of [0, 1, 2, 3]) expect([count(runs, `start ${x}`), count(runs, `done ${x}`)]).toEqual([1, 1]);
    for (const x of [4, 5]) expect(count(runs, `done ${x}`)).toBe(1);
    await waitNoneTagged(tag, 15_000, 'agents of the second run');
  }, 120_000);

  it('is submitted by one process, then followed and collected by another and by the CLI', async () => {
    const reaper = new Reaper();
    const dir = tempDir(reaper);
    const state = join(dir, 'state');
    const runs = join(dir, 'runs.log');
    const gate = join(dir, 'gate');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const tokenFile = join(state, 'token');
    const controller = startProcess(reaper, process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '2']);
    reaper.add(async () => {
      controller.child.kill('SIGTERM');
      await within(controller.exited, 15_000, 'the controller to stop');
    });
    await until(() => healthy(url), 20_000);
    const cli = (...a: string[]) => execa(process.execPath, [CLI, ...a, '--url', url, '--token-file', tokenFile], { reject: false });

    const submitter = startProcess(reaper, process.execPath, ['--import', 'tsx', CLIENT, 'submit', url, tokenFile, runs, gate, '6', '4']);
    const { id } = await within(submitter.nextJson<{ id: string }>(), 30_000, () => `the submitter; stderr: ${submitter.stderr()}`);
    expect((await within(submitter.exited, 15_000, 'the submitter to leave')).code).toBe(0);

    // Rows 0-3 finish; 4 and 5 wait at the gate: the flow runs on without its submitter.
    await until(async () => JSON.parse((await cli('flow', 'status', id, '--json')).stdout || '{}').stages?.[1]?.done === 4, 30_000);
    const st = await cli('flow', 'status', id);
    expect(st.stdout).toMatch(new RegExp(`${id} \\(gated\\)\\s+running\\s+4/6 rows finished`));
    expect(st.stdout).toMatch(/work\s+4 done \(0 cached\), 2 running, 0 queued, 0 failed/);
    expect((await cli('flows')).stdout).toMatch(new RegExp(`${id}\\s+running`));

    const collector = startProcess(reaper, process.execPath, ['--import', 'tsx', CLIENT, 'collect', url, tokenFile, id]);
    const collected = startProcess(reaper, process.execPath, [CLI, 'flow', 'collect', id, '--url', url, '--token-file', tokenFile]);
    writeFileSync(gate, '');
    const got = await within(collector.nextJson<{ status: { state: string; plan: { units: number } }; rows: { x: number; twice: number; status: string }[] }>(), 30_000, () => `the collector; stderr: ${collector.stderr()}`);
    expect(got.status).toMatchObject({ state: 'done', plan: { units: 3 } });
    expect(got.rows.map((r) => [r.x, r.status, r.twice])).toEqual([0, 1, 2, 3, 4, 5].map((x) => [x, 'ok', 2 * x * x]));
    expect((await within(collected.exited, 30_000, 'flotilla flow collect')).code).toBe(0);
    const printed = [];
    for (let i = 0; i < 6; i++) printed.push(await collected.nextJson<{ x: number; work: number }>());
    expect(printed.map((r) => [r.x, r.work])).toEqual([0, 1, 2, 3, 4, 5].map((x) => [x, x * x]));
    expect((await cli('flow', 'cancel', id)).stdout).toMatch(/already finished/);
    expect((await cli('flow', 'status', 'fl-nope')).stderr).toMatch(/no flow fl-nope/);
  }, 120_000);

  it('goes on after its standalone controller is SIGKILLed and restarted, and is found by id', async () => {
    const reaper = new Reaper();
    const dir = tempDir(reaper);
    const state = join(dir, 'state');
    const runs = join(dir, 'runs.log');
    const gate = join(dir, 'gate');
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const tokenFile = join(state, 'token');
    const tag = newTag();
    const start = () => startProcess(reaper, process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '2'], { ...process.env, [TAG_VAR]: tag });
    const cli = (...a: string[]) => execa(process.execPath, [CLI, ...a, '--url', url, '--token-file', tokenFile], { reject: false });
    const status = async (id: string) => JSON.parse((await cli('flow', 'status', id, '--json')).stdout || '{}');

    const first = start();
    await until(() => healthy(url), 20_000);
    const submitter = startProcess(reaper, process.execPath, ['--import', 'tsx', CLIENT, 'submit', url, tokenFile, runs, gate, '6', '4']);
    const { id } = await within(submitter.nextJson<{ id: string }>(), 30_000, () => `the submitter; stderr: ${submitter.stderr()}`);
    await until(async () => (await status(id)).stages?.[1]?.done === 4, 30_000);
    first.child.kill('SIGKILL');
    await within(first.exited, 5_000, 'the killed controller');
    await waitNoneTagged(tag, 15_000, 'agents of the killed controller');

    writeFileSync(gate, '');
    const second = start();
    reaper.add(async () => {
      second.child.kill('SIGTERM');
      await within(second.exited, 15_000, 'the controller to stop');
    });
    await until(() => healthy(url), 20_000);
    await until(async () => (await status(id)).state === 'done', 30_000);
    const s = await status(id);
    expect(s).toMatchObject({ rows: 6, rowsFinished: 6, rowsFailed: 0 });
    const collected = await cli('flow', 'collect', id);
    expect(collected.stdout.trim().split('\n').map((l) => JSON.parse(l)).map((r: { x: number; twice: number; status: string }) => [r.x, r.status, r.twice])).toEqual([0, 1, 2, 3, 4, 5].map((x) => [x, 'ok', 2 * x * x]));
    // The units that had finished before the crash did not run again.
    for (const x of [0, 1, 2, 3]) expect(count(runs, `done ${x}`)).toBe(1);
  }, 120_000);
});

/**
 * Flows report each row as it finishes, not only when its unit does: one unit of N rows, each
 * row's stage waiting at its own gate file, shows its done counts rise one row at a time while
 * the unit is still running, in every `within` mode; and a run SIGKILLed mid-unit keeps the rows
 * that unit had finished (cached), so its resubmit does not run them again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import type { FlowStatus } from '../../contract/flow-types.js';
import { Reaper, ROOT, startProcess, tempDir, within } from '../lifecycle/helpers.js';
import { newTag, TAG_VAR, waitNoneTagged } from '../support/procs.js';

const CLIENT = join(ROOT, 'test', 'flows', 'fixtures', 'flow-client.ts');

let fl: Session;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'flotilla-rows-'));
  fl = await connect({ pools: { local: { launcher: 'local', agents: 1 } }, controller: { flowCache: join(dir, 'flows.db') }, waitForAgents: 1 });
}, 60_000);
afterAll(async () => {
  await fl?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every status the flow's progress subscription sends, and a wait for one that matches. */
function follow(id: string) {
  const seen: FlowStatus[] = [];
  let wake: (() => void) | undefined;
  const sub = fl.api.flow.progress.subscribe({ id }, {
    onData: (s) => {
      seen.push(s);
      wake?.();
    },
  });
  const next = async (pred: (s: FlowStatus) => boolean, what: string): Promise<FlowStatus> => {
    let from = 0;
    const find = (): FlowStatus | undefined => {
      const s = seen.slice(from).find(pred);
      from = seen.length;
      return s;
    };
    return within((async () => {
      for (;;) {
        const hit = find();
        if (hit) return hit;
        await new Promise<void>((r) => (wake = r));
      }
    })(), 30_000, () => `${what}; last status: ${JSON.stringify(seen.at(-1)?.stages)}`);
  };
  return { seen, next, stop: () => sub.unsubscribe() };
}

const N = 4;

describe('flows report rows as they finish', () => {
  for (const within_ of ['inline', 'threads', 'process'] as const) {
    it(`${within_}: one unit of ${N} gated rows: done counts rise row by row while the unit runs`, async () => {
      const gates = mkdtempSync(join(dir, `gates-${within_}-`));
      const rows = Array.from({ length: N }, (_, x) => ({ x, gates }));
      const h = await fl
        .flow(rows)
        .stage('work', async ({ x, gates }) => {
          const fs = process.getBuiltinModule('node:fs') as typeof import('node:fs');
          while (!fs.existsSync(`${gates}/${x}`)) await new Promise((r) => setTimeout(r, 10));
          return x * x;
        })
        .stage('twice', ({ work }) => work * 2, { needs: ['work'] })
        .distribute({ chunksPerJob: N, within: within_ })
        .submit();
      const p = follow(h.id);
      try {
        const first = await p.next((s) => s.stages[0]!.running === N, 'the unit to start');
        expect(first.plan.units).toBe(1);
        for (let k = 1; k <= N; k++) {
          writeFileSync(join(gates, String(k - 1)), '');
          if (k === N) break; // the last row ends the unit too
          const s = await p.next((s) => s.stages[1]!.done === k, `row ${k - 1} to be reported`);
          // The unit is still running: its other rows wait at their gates.
          expect(s.state).toBe('running');
          expect(s.rowsFinished).toBe(k);
          expect(s.stages.map((st) => [st.name, st.done, st.running, st.queued])).toEqual([['work', k, N - k, 0], ['twice', k, N - k, 0]]);
        }
        const end = await p.next((s) => s.state === 'done', 'the flow to finish');
        expect(end.stages.map((st) => [st.done, st.running, st.failed])).toEqual([[N, 0, 0], [N, 0, 0]]);
        // Done moved one row at a time: no status skipped a count or went back.
        const done = [...new Set(p.seen.map((s) => s.stages[1]!.done))];
        expect(done).toEqual(Array.from({ length: N + 1 }, (_, k) => k));
        // A row seen twice (as it finished, then in the unit's result) is counted once.
        const collected = await h.collect({ progress: false });
        expect(collected.map((r) => [r.x, r.status, r.twice])).toEqual(rows.map(({ x }) => [x, 'ok', 2 * x * x]));
      } finally {
        p.stop();
      }
    }, 90_000);
  }

  it('a run SIGKILLed mid-unit keeps the rows the unit had finished: its resubmit does not re-run them', async () => {
    const reaper = new Reaper();
    const work = tempDir(reaper);
    const runs = join(work, 'runs.log');
    const gate = join(work, 'gate');
    const tag = newTag();
    const env = { ...process.env, FLOTILLA_CACHE_DIR: join(work, 'cache'), [TAG_VAR]: tag };
    const lines = () => (existsSync(runs) ? readFileSync(runs, 'utf8').trim().split('\n').filter(Boolean) : []);
    const count = (line: string) => lines().filter((l) => l === line).length;
    // 8 rows in ONE unit (rows per unit = 8): rows 0-4 finish, row 5 waits at the gate.
    const client = () => startProcess(reaper, process.execPath, ['--import', 'tsx', CLIENT, 'embedded', runs, gate, '8', '5', '8'], env);
    const first = client();
    await within(first.nextJson<{ id: string }>(), 30_000, () => `the first run to submit; stderr: ${first.stderr()}`);
    await within(first.nextJson<{ ready: boolean }>(), 30_000, () => `rows 0-4 to be reported; stderr: ${first.stderr()}`);
    first.child.kill('SIGKILL');
    await within(first.exited, 5_000, 'the killed run');
    await waitNoneTagged(tag, 15_000, 'agents of the killed run');
    for (const x of [0, 1, 2, 3, 4]) expect(count(`done ${x}`)).toBe(1);
    expect(count('start 5')).toBe(1);
    expect(count('done 5') + count('start 6')).toBe(0);

    writeFileSync(gate, '');
    const second = client();
    await within(second.nextJson(), 30_000, 'the second run to submit'); // { id }
    await within(second.nextJson(), 30_000, 'ready'); // { ready }
    const { rows } = await within(second.nextJson<{ rows: { x: number; twice: number; status: string; cached?: true }[] }>(), 60_000, () => `the second run; stderr: ${second.stderr()}`);
    expect((await within(second.exited, 15_000, 'the second run to exit')).code).toBe(0);
    expect(rows.map((r) => [r.x, r.status, r.twice])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((x) => [x, 'ok', 2 * x * x]));
    expect(rows.map((r) => r.cached ?? false)).toEqual([true, true, true, true, true, false, false, false]);
    // The rows finished before the kill ran once in all; the one it interrupted ran again.
    for (const x of [0, 1, 2, 3, 4]) expect([count(`start ${x}`), count(`done ${x}`)]).toEqual([1, 1]);
    expect([count('start 5'), count('done 5')]).toEqual([2, 1]);
    for (const x of [6, 7]) expect([count(`start ${x}`), count(`done ${x}`)]).toEqual([1, 1]);
    await waitNoneTagged(tag, 15_000, 'agents of the second run');
  }, 150_000);
});

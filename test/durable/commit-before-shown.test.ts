/**
 * The durable store commits a result before it is shown: checked against the file itself (another
 * connection, as a restarted controller would read it), and with a store that cannot commit: a
 * clear error naming the file and the reason, nothing shown that is not in the file, and a
 * controller restarted once the cause is gone finishes the job.
 */
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import Database from 'better-sqlite3';
import { connect } from '../../client/index.js';
import { encodeValue } from '../../contract/codec.js';
import type { FlotillaError } from '../../contract/errors.js';
import type { TaskResult } from '../../server/jobs/types.js';
import { JobStore } from '../../server/store/job-store.js';
import { StoredResultLog } from '../../server/store/stored-result-log.js';
import { Reaper, deferred, tempDir, within } from '../lifecycle/helpers.js';
import { startCliController } from '../support/cli-controller.js';
import { freePort } from '../support/ports.js';

const reaper = Reaper.afterEach();

const spec = { fn: { id: 'f', src: 'x => x', vals: {}, fns: {} }, retries: 0, crashLimit: 3, timeoutMs: 0 };
const ok = (index: number): TaskResult => ({ index, ok: true, value: encodeValue(index * 10), attempt: 1, agentId: 'a-1', host: 'h' });
const turn = () => new Promise<void>((r) => setImmediate(r));

/** Results of `job` in the file, read by a connection of its own. */
function inFile(path: string, job: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare('SELECT COALESCE(SUM(count), 0) AS n FROM results WHERE job = ?').get(job) as { n: number }).n;
  } finally {
    db.close();
  }
}

/** A store whose `results` table refuses every insert, as a full disk or a damaged file would. */
function refuseResults(path: string): void {
  const db = new Database(path, { fileMustExist: true });
  db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON results BEGIN SELECT RAISE(ABORT, 'disk says no'); END;`);
  db.close();
}

describe('durable store commits', () => {
  it('shows a result only once another connection reads it from the file (commit before shown)', async () => {
    const store = new JobStore(tempDir(reaper));
    try {
      store.createJob({ id: 'j', pool: 'local', total: 5_000, createdAt: 0, spec });
      const shown: { length: number; stored: number }[] = [];
      const log: StoredResultLog = new StoredResultLog(store, 'j', 5_000, () => shown.push({ length: log.length, stored: inFile(store.path, 'j') }));
      // Results arrive over many turns of the event loop, as frames from agents do, in bursts
      // large and small; nothing is flushed by hand.
      let i = 0;
      for (const burst of [1, 1_200, 3, 900, 2, 1, 1_500, 40, 1_353]) {
        for (const end = i + burst; i < end; i++) {
          log.append(ok(i));
          // Appended, not yet committed: not shown in the turn it arrived.
          expect(log.length).toBeLessThanOrEqual(i);
        }
        await turn();
      }
      expect(i).toBe(5_000);
      while (log.length < 5_000) await within(log.changed(), 10_000, 'the writer thread to report its commits');
      expect(shown.length).toBeGreaterThan(2);
      for (const s of shown) expect(s.stored).toBeGreaterThanOrEqual(s.length);
      expect(log.read(4_998, 5).map((r) => r.index)).toEqual([4_998, 4_999]);
    } finally {
      store.close();
    }
  });

  it("a finished job's last results are read from memory by the readers woken at its end, and from the store after that turn", async () => {
    const store = new JobStore(tempDir(reaper));
    try {
      store.createJob({ id: 'j', pool: 'local', total: 3, createdAt: 0, spec });
      const log = new StoredResultLog(store, 'j', 3, () => {});
      const readBack = vi.spyOn(store, 'readResults');
      const read: number[] = [];
      log.onChange(() => read.push(...log.read(0, 10).map((r) => r.index)));
      for (let i = 0; i < 3; i++) log.append(ok(i));
      store.flush();
      log.end(); // as a job does once its last result is committed
      await Promise.resolve();
      expect(read).toEqual([0, 1, 2]);
      expect(readBack).not.toHaveBeenCalled();
      // Then nothing per task stays in memory: a late reader reads the store.
      await turn();
      expect(log.read(1, 10).map((r) => r.index)).toEqual([1, 2]);
      expect(readBack).toHaveBeenCalledTimes(1);
    } finally {
      store.close();
    }
  });

  it.each([
    ['a few results', 10],
    ['many results', 70_000],
  ])('a commit of %s that fails is a clear error naming the file and the reason; nothing uncommitted is shown', async (_what, n) => {
    const failed = deferred<FlotillaError>();
    const store = new JobStore(tempDir(reaper), (err) => failed.resolve(err));
    try {
      store.createJob({ id: 'j', pool: 'local', total: 50 + n, createdAt: 0, spec });
      const log = new StoredResultLog(store, 'j', 50 + n, () => {});
      for (let i = 0; i < 50; i++) log.append(ok(i));
      store.flush();
      expect(log.length).toBe(50);
      refuseResults(store.path);
      for (let i = 50; i < 50 + n; i++) log.append(ok(i));
      const err = await within(failed.promise, 15_000, 'the writer failure to be reported');
      expect(err.code).toBe('INTERNAL');
      expect(err.message).toContain(store.path);
      expect(err.message).toContain('disk says no');
      expect(log.length).toBe(50);
      expect(() => store.flush()).toThrow(/disk says no/);
      expect(inFile(store.path, 'j')).toBe(50);
    } finally {
      store.close(); // does not throw again: the failure was reported
    }
  });

  it('a controller whose store cannot commit stops with that error; restarted once the cause is gone, its job ends with every result once', async () => {
    const port = String(await freePort());
    const ctl = await startCliController(reaper, ['--agents', '1', '--port', port]);
    const fl = await connect({ url: ctl.url, tokenFile: ctl.tokenFile, waitForAgents: 1 });
    try {
      expect(await fl.map([1, 2, 3], (x: number) => x * 2)).toEqual([2, 4, 6]);
      const db = join(ctl.stateDir, 'jobs.db');
      refuseResults(db);
      const seen: number[] = [];
      const run = (async () => {
        for await (const o of fl.map({ length: 20 }, (_: unknown, ctx) => ctx.index * 3)) seen.push(o.ok ? o.value : -1);
      })();
      const ended = await within(ctl.proc.exited, 30_000, 'the controller to stop on its store failure');
      expect(ended.code).not.toBe(0);
      expect(ctl.stderr()).toMatch(/the durable job store could not commit results to .*jobs\.db: disk says no/);
      // Nothing of the job was committed, so nothing was shown.
      expect(seen).toEqual([]);
      const fix = new Database(db, { fileMustExist: true });
      fix.exec('DROP TRIGGER refuse');
      fix.close();
      await startCliController(reaper, ['--agents', '1', '--port', port], { stateDir: ctl.stateDir });
      await within(run, 60_000, 'the job to end on the restarted controller');
      expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i * 3));
    } finally {
      await fl.close().catch(() => {});
    }
  });
});

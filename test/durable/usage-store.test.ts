/**
 * A task's timings are stored with its result: a controller that restarts still gives them to
 * `attach` and `collect`; rows written before timings were kept still read.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeValue } from '../../contract/codec.js';
import { shipFunction } from '../../client/ship.js';
import { Job } from '../../server/job.js';
import { JobStore } from '../../server/store/job-store.js';
import type { TaskUsage } from '../../server/task-usage.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('durable timings', () => {
  it('timings survive a restart, beside results stored without them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-usage-'));
    dirs.push(dir);
    let store = new JobStore(dir);
    const job = new Job({ id: 'j-usage', fn: shipFunction((x: number) => x), pool: 'local', total: 3, retries: 0, crashLimit: 3, timeoutMs: 0 }, store);
    job.persist();
    job.append(0, [encodeValue(1), encodeValue(2), encodeValue(3)]);
    for (let i = 0; i < 3; i++) job.take();
    const u: TaskUsage = [job.queuedAt(0), Date.now(), 1234, 1000, 50_000];
    job.record({ index: 0, ok: true, value: encodeValue(10), agentId: 'a1', host: 'h', u });
    job.record({ index: 1, ok: false, error: { code: 'TASK_ERROR', message: 'no' }, u: [u[0], u[1], 99, -1, -1] });
    job.record({ index: 2, ok: true, value: encodeValue(30) }); // as an older controller stored it
    store.flush();
    expect(job.status().usage).toMatchObject({ tasks: 2, slowest: [{ index: 0, durationMs: 1.234 }, { index: 1, durationMs: 0.099 }] });
    store.close();

    store = new JobStore(dir);
    try {
      const [a, b, c] = store.readResults('j-usage', 0, 10);
      expect(a!.u).toEqual(u);
      expect(b!.u).toEqual([u[0], u[1], 99, -1, -1]);
      expect(c!.u).toBeUndefined();
    } finally {
      store.close();
    }
  });
});

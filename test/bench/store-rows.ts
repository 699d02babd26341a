/**
 * The durable store on its own, no agents or sockets: 100k tiny results recorded through a
 * job's stored result log and committed in flushes of 800 (about what one frame from each of two
 * agents brings; each 400 results from one agent), then read back; and 100k tiny arguments
 * stored in chunks of 8,192 and read back. CPU time (user + system) per item: the work is
 * synchronous on this thread, so a loaded machine stretches the wall time but not this.
 */
import { rmSync } from 'node:fs';
import { encodeValue } from '../../contract/codec.js';
import type { TaskResult } from '../../server/jobs/types.js';
import { JobStore } from '../../server/store/job-store.js';
import { StoredResultLog } from '../../server/store/stored-result-log.js';
import { tempDir, threadCpuMs } from './measure.js';
import { median } from './stats.js';

export interface StoreRowsResult {
  /** Medians over the repetitions, µs of CPU time per item. */
  recordAndCommitUs: number;
  /** Of it, on this thread (the event loop's; the rest is the store's writer thread). */
  recordOnLoopUs: number;
  readResultsUs: number;
  storeArgsUs: number;
  readArgsUs: number;
  /** Bytes a stored tiny result takes in its row. */
  bytesPerResult: number;
}

const N = 100_000, FLUSH = 800, CHUNK = 8192;

/** CPU time (ms) since `from` (a process.cpuUsage()). */
const cpuMs = (from: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e3;
};

export function measureStoreRows(reps: number): StoreRowsResult {
  const samples: Record<Exclude<keyof StoreRowsResult, 'bytesPerResult'>, number[]> = { recordAndCommitUs: [], recordOnLoopUs: [], readResultsUs: [], storeArgsUs: [], readArgsUs: [] };
  let bytesPerResult = 0;
  for (let rep = 0; rep < reps + 1; rep++) {
    const dir = tempDir('flotilla-bench-rows-');
    const store = new JobStore(dir);
    try {
      const id = `rows-${rep}`;
      store.createJob({ id, pool: 'local', total: N, createdAt: Date.now(), spec: { fn: { id: 'f', src: '(x) => x', vals: {}, fns: {} }, retries: 0, crashLimit: 3, timeoutMs: 0 } });
      const args = Array.from({ length: N }, (_, i) => encodeValue(i));
      const t = Date.now();
      const results: TaskResult[] = Array.from({ length: N }, (_, i) => ({ index: i, ok: true, value: encodeValue(i + 1), attempt: 1, agentId: `agent-${Math.floor(i / 400) % 2}-0123456789ab`, host: 'node-1', u: [t, t + (i >> 6), 40 + (i % 90), 35 + (i % 40), 51_000 + (i % 500)] }));
      const log = new StoredResultLog(store, id, N, () => {});
      let t0 = process.cpuUsage();
      for (let i = 0; i < N; i += CHUNK) store.appendArgs(id, i, args.slice(i, i + CHUNK));
      const storeArgs = cpuMs(t0);
      t0 = process.cpuUsage();
      for (let i = 0; i < N; i += CHUNK) store.argsChunk(id, i);
      const readArgs = cpuMs(t0);
      t0 = process.cpuUsage();
      const loop0 = threadCpuMs();
      for (let i = 0; i < N; i += FLUSH) {
        for (let k = i; k < Math.min(N, i + FLUSH); k++) log.append(results[k]!);
        store.flush();
      }
      const record = cpuMs(t0);
      const recordOnLoop = threadCpuMs() - loop0;
      t0 = process.cpuUsage();
      let read = 0;
      while (read < N) read += store.readResults(id, read, 16_384, Infinity).length;
      const readResults = cpuMs(t0);
      const bytes = (store.database.prepare('SELECT sum(length(body)) AS n FROM results WHERE job = ?').get(id) as { n: number }).n;
      if (rep === 0) continue; // warm-up
      samples.recordAndCommitUs.push((record * 1e3) / N);
      samples.recordOnLoopUs.push((recordOnLoop * 1e3) / N);
      samples.readResultsUs.push((readResults * 1e3) / N);
      samples.storeArgsUs.push((storeArgs * 1e3) / N);
      samples.readArgsUs.push((readArgs * 1e3) / N);
      bytesPerResult = bytes / N;
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    recordAndCommitUs: median(samples.recordAndCommitUs),
    recordOnLoopUs: median(samples.recordOnLoopUs),
    readResultsUs: median(samples.readResultsUs),
    storeArgsUs: median(samples.storeArgsUs),
    readArgsUs: median(samples.readArgsUs),
    bytesPerResult,
  };
}

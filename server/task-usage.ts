/**
 * What a job's tasks used, summarised with bounded memory: log-scale histograms (32 buckets per
 * doubling, so a percentile is within about 2% of the true value) of durations and of the
 * agents' peak memory, and the few slowest tasks. A few kilobytes per job, whatever its size;
 * adding a task costs two logarithms.
 */

import type { JobUsage, Percentiles, SlowTask, TaskUsage } from '../contract/job-types.js';

export type { JobUsage, Percentiles, SlowTask, TaskUsage };

const PER_OCTAVE = 32;
const SLOWEST = 5;

/** Bucket indices a histogram keeps in a list before it allocates its table. */
const SPARSE_UP_TO = 64;

/**
 * A log-scale histogram of non-negative values. Its first values are kept as a short list of
 * bucket indices, so a job of one task costs a few bytes here, not the table's kilobytes.
 */
class LogHistogram {
  private counts: Uint32Array | undefined;
  private sparse: number[] | undefined;
  n = 0;
  max = 0;

  constructor(private readonly octaves: number) {}

  private get buckets(): number {
    return this.octaves * PER_OCTAVE + 2;
  }

  add(v: number): void {
    const i = v < 1 ? 0 : Math.min(this.buckets - 1, 1 + Math.floor(Math.log2(v) * PER_OCTAVE));
    if (this.n === 0) this.sparse = [i];
    else if (this.sparse && this.sparse.length < SPARSE_UP_TO) this.sparse.push(i);
    else {
      if (!this.counts) {
        this.counts = new Uint32Array(this.buckets);
        for (const j of this.sparse!) this.counts[j]!++;
        this.sparse = undefined;
      }
      this.counts[i]!++;
    }
    this.n++;
    if (v > this.max) this.max = v;
  }

  /** The value at quantile q: its bucket's middle, never above the largest value seen. */
  quantile(q: number): number {
    const rank = Math.max(1, Math.ceil(q * this.n));
    const at = (i: number) => (i === 0 ? Math.min(this.max, 0.5) : Math.min(this.max, 2 ** ((i - 0.5) / PER_OCTAVE)));
    if (this.n === 0) return this.max;
    if (this.sparse) {
      const sorted = [...this.sparse].sort((a, b) => a - b);
      return sorted.length ? at(sorted[Math.min(rank, sorted.length) - 1]!) : this.max;
    }
    let seen = 0;
    for (let i = 0; i < this.counts!.length; i++) {
      seen += this.counts![i]!;
      if (seen >= rank) return at(i);
    }
    return this.max;
  }

  percentiles(scale: number, decimals: number): Percentiles {
    const f = 10 ** decimals;
    const r = (v: number) => Math.round(v * scale * f) / f;
    return { p50: r(this.quantile(0.5)), p90: r(this.quantile(0.9)), p99: r(this.quantile(0.99)), max: r(this.max) };
  }
}

/** A job's usage so far. */
export class UsageSummary {
  private readonly durations = new LogHistogram(44); // µs, up to months
  private memory: LogHistogram | undefined;
  private cpuTotalUs = 0;
  private cpuMaxUs = 0;
  private cpuTasks = 0;
  private busyUs = 0;
  /** Slowest first; at most SLOWEST. */
  private readonly slow: SlowTask[] = [];

  /** Counts one task that ran. */
  add(index: number, u: TaskUsage, agentId?: string, host?: string): void {
    const us = u[2];
    this.durations.add(us);
    this.busyUs += us;
    if (u[4] >= 0) (this.memory ??= new LogHistogram(36)).add(u[4]);
    if (u[3] >= 0) {
      this.cpuTotalUs += u[3];
      this.cpuTasks++;
      if (u[3] > this.cpuMaxUs) this.cpuMaxUs = u[3];
    }
    if (this.slow.length < SLOWEST || us > this.slow[this.slow.length - 1]!.durationMs * 1000) {
      const entry: SlowTask = { index, durationMs: us / 1000, agentId, host };
      let at = 0;
      while (at < this.slow.length && this.slow[at]!.durationMs * 1000 >= us) at++;
      if (at === this.slow.length) this.slow.push(entry);
      else this.slow.splice(at, 0, entry);
      if (this.slow.length > SLOWEST) this.slow.pop();
    }
  }

  get tasks(): number {
    return this.durations.n;
  }

  summary(): JobUsage {
    return {
      tasks: this.durations.n,
      durationMs: this.durations.percentiles(1 / 1000, 3),
      busyMs: Math.round(this.busyUs) / 1000,
      peakRssBytes: this.memory?.percentiles(1024, 0),
      cpuMs: this.cpuTasks > 0 ? { total: Math.round(this.cpuTotalUs) / 1000, max: Math.round(this.cpuMaxUs) / 1000 } : undefined,
      slowest: this.slow.map((s) => ({ ...s })),
    };
  }
}

/**
 * A job's usage as its results come: the first one's kept as it came, the summary (histograms,
 * slowest list: a few hundred bytes) made once a second comes or someone asks. Single-task maps
 * come by the thousand.
 */
export class UsageTally {
  #summary: UsageSummary | undefined;
  #first: { index: number; u: TaskUsage; agentId?: string; host?: string } | undefined;

  /** Counts one task that ran. */
  add(index: number, u: TaskUsage, agentId?: string, host?: string): void {
    if (!this.#summary && !this.#first) {
      this.#first = { index, u, agentId, host };
      return;
    }
    this.#built().add(index, u, agentId, host);
  }

  /** The summary so far; undefined before any task ran. */
  summary(): JobUsage | undefined {
    return this.#summary || this.#first ? this.#built().summary() : undefined;
  }

  #built(): UsageSummary {
    if (!this.#summary) {
      this.#summary = new UsageSummary();
      const f = this.#first;
      this.#first = undefined;
      if (f) this.#summary.add(f.index, f.u, f.agentId, f.host);
    }
    return this.#summary;
  }
}

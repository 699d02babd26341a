/**
 * Terminal output of the ridge sweep: a live progress display and the final summary tables.
 * Kept apart from the sweep so the main file reads as the workflow.
 */
import cliProgress from 'cli-progress';

/** Reports progress as tasks finish. */
export interface Progress {
  /** One more task finished; `best` is the lowest CV MSE seen so far. */
  tick(ok: boolean, best: number): void;
  stop(): void;
}

/**
 * A cli-progress bar when stdout is a terminal; otherwise (CI logs, pipes) a plain line at most
 * every `everyMs`, plus one at the end, so logs stay short but show the job is alive.
 */
export function createProgress(total: number, label: string, everyMs = 2000): Progress {
  let done = 0;
  let failed = 0;
  const t0 = performance.now();
  if (process.stdout.isTTY) {
    const bar = new cliProgress.SingleBar(
      {
        stream: process.stdout,
        format: `${label} [{bar}] {value}/{total} {percentage}% | {duration_formatted} elapsed, ETA {eta_formatted} | best MSE {best} | failed {failed}`,
        hideCursor: true,
        fps: 10,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { best: '-', failed: 0 });
    return {
      tick(ok, best) {
        done++;
        if (!ok) failed++;
        bar.update(done, { best: Number.isFinite(best) ? best.toFixed(4) : '-', failed });
      },
      stop: () => bar.stop(),
    };
  }
  let last = t0;
  const line = () => {
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    console.log(`${label}: ${done}/${total} tasks (${Math.round((100 * done) / total)}%) after ${s}s, ${failed} failed`);
  };
  return {
    tick(ok) {
      done++;
      if (!ok) failed++;
      const now = performance.now();
      if (now - last >= everyMs && done < total) {
        last = now;
        line();
      }
    },
    stop: line,
  };
}

/** Renders rows as an aligned text table; numbers-looking cells are right-aligned. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const numeric = (s: string) => /^[-+]?[\d.,e±x%+ -]+$/i.test(s);
  const fmt = (r: string[]) =>
    r.map((cell, c) => (numeric(cell) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)].map((l) => `  ${l}`).join('\n');
}

/** Pearson correlation of two equal-length vectors. */
export function correlation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i]! - ma) * (b[i]! - mb);
    saa += (a[i]! - ma) ** 2;
    sbb += (b[i]! - mb) ** 2;
  }
  return sab / Math.sqrt(saa * sbb);
}

/** Indices of the `count` entries of largest absolute value. */
export function topAbs(v: ArrayLike<number>, count: number): number[] {
  return Array.from({ length: v.length }, (_, i) => i)
    .sort((i, j) => Math.abs(v[j]!) - Math.abs(v[i]!))
    .slice(0, count);
}

/** Seconds with one decimal, for the summary. */
export const secs = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

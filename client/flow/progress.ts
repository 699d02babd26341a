/**
 * Progress bars of a running flow, one per stage, on stderr (cli-progress), only in a terminal.
 */
import { createRequire } from 'node:module';
import type cliProgressModule from 'cli-progress';
import type { FlowStatus } from '../../server/flows/types.js';

/** Something that shows statuses as they come, and goes away at the end. */
export interface ProgressView {
  update(s: FlowStatus): void;
  stop(): void;
}

/** Bars when stderr is a terminal and progress is wanted; otherwise a view that shows nothing. */
export function progressView(wanted: boolean | undefined): ProgressView {
  if (wanted === false || !process.stderr.isTTY) return { update: () => {}, stop: () => {} };
  // Loaded only when bars are shown: importing the library should not pay for it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof cliProgressModule;
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {stage} [{bar}] {value}/{total} rows | {running} running, {failed} failed, {cached} cached',
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgressModule.SingleBar>();
  return {
    update(s) {
      const width = s.stages.reduce((w, p) => Math.max(w, p.name.length), 0);
      for (const p of s.stages) {
        const payload = { stage: p.name.padEnd(width), running: p.running, failed: p.failed, cached: p.cached };
        const value = p.done + p.failed + p.skipped;
        const bar = bars.get(p.name);
        if (bar) bar.update(value, payload);
        else bars.set(p.name, multi.create(s.rows, value, payload));
      }
    },
    stop: () => multi.stop(),
  };
}

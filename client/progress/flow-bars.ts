/**
 * Progress bars of a running flow, one per stage, on stderr, only in a terminal.
 */
import type { FlowStatus } from '../../contract/flow-types.js';
import { BAR_OPTIONS, drawsBars, loadBars } from './bars.js';
import type { MultiBar, SingleBar } from './bars.js';

/** Something that shows statuses as they come, and goes away at the end. */
export interface ProgressView {
  update(s: FlowStatus): void;
  /** Draws the last status and stops; resolves once it is on screen. */
  stop(): Promise<void>;
}

/** Bars when stderr is a terminal and progress is wanted; otherwise a view that shows nothing. */
export function progressView(wanted: boolean | undefined): ProgressView {
  if (!drawsBars(wanted)) return { update: () => {}, stop: async () => {} };
  let multi: MultiBar | undefined;
  let last: FlowStatus | undefined;
  const bars = new Map<string, SingleBar>();
  const draw = (s: FlowStatus) => {
    if (!multi) return;
    const width = s.stages.reduce((w, p) => Math.max(w, p.name.length), 0);
    for (const p of s.stages) {
      const payload = { stage: p.name.padEnd(width), running: p.running, failed: p.failed, cached: p.cached };
      const value = p.done + p.failed + p.skipped;
      const bar = bars.get(p.name);
      if (bar) bar.update(value, payload);
      else bars.set(p.name, multi.create(s.rows, value, payload));
    }
  };
  const ready = loadBars().then((cp) => {
    multi = new cp.MultiBar({ ...BAR_OPTIONS, format: ' {stage} [{bar}] {value}/{total} rows | {running} running, {failed} failed, {cached} cached' }, cp.Presets.shades_classic);
    if (last) draw(last);
  });
  return {
    update(s) {
      last = s;
      draw(s);
    },
    async stop() {
      await ready.catch(() => {});
      multi?.stop();
    },
  };
}

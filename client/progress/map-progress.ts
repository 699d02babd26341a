/**
 * Progress of one map: counts outcomes as they arrive and hands the figures to a callback, or
 * draws them as a bar on stderr when it is a terminal (nothing otherwise).
 */
import { BAR_OPTIONS, drawsBars, loadBars, shortDuration } from './bars.js';
import type { SingleBar } from './bars.js';

/** A running map's figures, as the `progress` callback gets them. */
export interface MapProgress {
  /** Tasks finished so far, succeeded or failed; ends at `total`. */
  done: number;
  /** Of the finished tasks, how many failed. */
  failed: number;
  /** Tasks in the job. */
  total: number;
  /** Tasks finished per second since progress started. */
  rate: number;
  /** Estimated time to the last task (ms), from the rate so far; undefined before the first task finishes. */
  etaMs: number | undefined;
  /** Time since progress started (ms). */
  elapsedMs: number;
}

/**
 * `true`: a bar on stderr when it is a terminal (done / total, failed, rate, ETA), nothing when
 * it is not; a function: called with the figures as results arrive (at most once per batch of
 * results, figures never going down, the last call with `done === total`).
 */
export type ProgressOption = boolean | ((p: MapProgress) => void);

/** Where a map's figures go. */
export interface ProgressSink {
  /** The job's size is known: progress starts. */
  start(total: number): void;
  /** Outcomes arrived: `failed` of these `n` failed. */
  add(n: number, failed: number): void;
  /** The job is over (all done, or it failed): resolves once the last figures are shown. */
  stop(): Promise<void>;
}

/** A sink for a map's `progress` option; undefined when nothing is to be shown. */
export function progressSink(opt: ProgressOption | undefined): ProgressSink | undefined {
  if (typeof opt === 'function') return new Figures(opt);
  if (opt === true && drawsBars(true)) return new Figures(barDrawer());
  return undefined;
}

class Figures implements ProgressSink {
  private done = 0;
  private failed = 0;
  private total = 0;
  private t0 = 0;
  private started = false;
  private stopped = false;
  private lastShown = -1;

  constructor(private readonly show: (p: MapProgress, final: boolean) => void | Promise<void>) {}

  start(total: number): void {
    if (this.started) return;
    this.started = true;
    this.total = total;
    this.t0 = performance.now();
    this.emit(false);
  }

  add(n: number, failed: number): void {
    this.done += n;
    this.failed += failed;
    if (this.started && !this.stopped) this.emit(false);
  }

  async stop(): Promise<void> {
    if (!this.started || this.stopped) return;
    this.stopped = true;
    await this.emit(true);
  }

  private emit(final: boolean): void | Promise<void> {
    if (!final && this.done === this.lastShown && this.done > 0) return;
    this.lastShown = this.done;
    const elapsedMs = performance.now() - this.t0;
    const rate = elapsedMs > 0 ? (this.done * 1000) / elapsedMs : 0;
    const left = this.total - this.done;
    const etaMs = left === 0 ? 0 : rate > 0 ? (left * 1000) / rate : undefined;
    try {
      return this.show({ done: this.done, failed: this.failed, total: this.total, rate, etaMs, elapsedMs }, final);
    } catch {
      // A progress callback's failure is its own: the job goes on, and so do the calls.
    }
  }
}

/** Draws the figures as one bar; cli-progress loads while the job is submitted. */
function barDrawer(): (p: MapProgress, final: boolean) => void | Promise<void> {
  let bar: SingleBar | undefined;
  let last: MapProgress | undefined;
  const payload = (p: MapProgress) => ({ failed: p.failed, rate: p.rate < 10 ? p.rate.toFixed(1) : Math.round(p.rate), etaText: shortDuration(p.etaMs), elapsedText: shortDuration(p.elapsedMs) });
  const ready = loadBars().then((cp) => {
    bar = new cp.SingleBar({ ...BAR_OPTIONS, format: ' [{bar}] {value}/{total} tasks | {failed} failed | {rate}/s | ETA {etaText} | {elapsedText}' }, cp.Presets.shades_classic);
    if (last) bar.start(last.total, last.done, payload(last));
  });
  ready.catch(() => {});
  return (p, final) => {
    const first = !last;
    last = p;
    if (bar && first) bar.start(p.total, p.done, payload(p));
    else bar?.update(p.done, payload(p));
    if (!final) return;
    // The last figures are on screen before the caller goes on to print anything.
    return ready.then(
      () => {
        bar!.update(p.done, payload(p));
        bar!.stop();
      },
      () => {},
    );
  };
}

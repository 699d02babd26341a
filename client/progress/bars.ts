/**
 * The one place that loads cli-progress: lazily, so a program that draws no bar never loads it,
 * and only when stderr is a terminal (a log file or a pipe gets no bar).
 */
import type { MultiBar, SingleBar } from 'cli-progress';

/** The cli-progress module. */
export type Bars = typeof import('cli-progress');
export type { MultiBar, SingleBar };

let loading: Promise<Bars> | undefined;

/** Whether bars are drawn: wanted, and stderr is a terminal. */
export function drawsBars(wanted: boolean | undefined): boolean {
  return wanted !== false && process.stderr.isTTY === true;
}

/** cli-progress, loaded on first use. */
export function loadBars(): Promise<Bars> {
  loading ??= import('cli-progress').then((m) => ((m as { default?: Bars }).default ?? m) as Bars);
  return loading;
}

/** Options every bar shares: drawn on stderr, left on screen when done. */
export const BAR_OPTIONS = { stream: process.stderr, clearOnComplete: false, hideCursor: true } as const;

/** "1h 02m", "4m 05s", "12s": a duration for a bar. */
export function shortDuration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '--';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

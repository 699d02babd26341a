/**
 * Targets, reference figures and the summary tables: the core benchmark's (a row holds one
 * figure, the same-run baseline it is compared with, the target and whether it is met) and the
 * SSH and SLURM benchmarks' (figures already formatted, with a ratio to the baseline).
 */

/**
 * Targets. Most are ratios to a baseline measured in the same run (`x` the baseline for times,
 * a multiple of it for rates); the others are absolute.
 */
export const TARGETS = Object.freeze({
  /** One inline task round trip, x the raw ws round trip. */
  latencyVsRtt: 3,
  /** One call of a registered function, x the raw ws round trip. */
  callVsRtt: 2,
  /** Single-task maps issued at once, embedded and through a remote client, per second. */
  singlesPerS: 50_000,
  remoteSinglesPerS: 25_000,
  /** One 100k-task map, as a multiple of the raw ws pipelined message rate. */
  tasks100kVsWs: 2,
  /** What the durable store may cost of that map's throughput. */
  durableCost: 0.15,
  /** An idle agent's resident memory, 1 slot, and each extra slot (MiB). */
  idleAgentMiB: 40,
  extraSlotMiB: 15,
  /** Agent start to ready, x a bare `node` child connecting a WebSocket. */
  readyVsBare: 1.3,
  /** 10,000 agents on one controller: its memory per agent (KiB), its CPU with all of them idle (% of a core), dispatch (tasks/s). */
  swarmKiBPerAgent: 100,
  swarmIdleCorePct: 10,
  swarmTasksPerS: 100_000,
  /** Older absolute goals, kept for the results file. */
  latencyMedianUs: 80,
  tasksPerS100k: 100_000,
});

/** Figures quoted in the issue, for context; not measured here. */
export const REFERENCE = Object.freeze({
  mirai: { version: '2.7.1 with dispatcher', latencyUs: 320, tasksPerS: 5_900 },
  rawWsEcho: { latencyUs: 25, msgPerS: 180_000 },
});

export interface Row {
  figure: string;
  unit: string;
  value: number | undefined;
  baseline: number | undefined;
  baselineName: string;
  /** The baseline's unit, when it is not the figure's. */
  baselineUnit?: string;
  /** 'lower' figures compare as value/baseline (x slower), 'higher' as value/baseline (% of limit). */
  better: 'lower' | 'higher';
  /** An absolute target, in `unit`. */
  target?: number;
  /** A target as a ratio to the baseline (value / baseline). */
  targetRatio?: number;
  /** The target as a formatted text, when neither of the above says it. */
  targetText?: string;
  /** The verdict, when it is computed elsewhere. */
  pass?: boolean;
  reference?: string;
}

export function ratio(row: Row): string {
  if (row.value === undefined || row.baseline === undefined || !row.baseline) return '-';
  const r = row.value / row.baseline;
  return row.better === 'lower' ? `${r.toFixed(1)}x` : `${(r * 100).toFixed(1)}%`;
}

export function verdict(row: Row): 'PASS' | 'MISS' | 'not run' | '-' {
  if (row.pass !== undefined) return row.pass ? 'PASS' : 'MISS';
  if (row.target === undefined && row.targetRatio === undefined) return '-';
  // A phase left out (--only) or failed (its error is printed below the table).
  if (row.value === undefined) return 'not run';
  const ok = (v: number, t: number) => (row.better === 'lower' ? v <= t : v >= t);
  if (row.target !== undefined) return ok(row.value, row.target) ? 'PASS' : 'MISS';
  if (row.baseline === undefined || !row.baseline) return 'MISS';
  return ok(row.value / row.baseline, row.targetRatio!) ? 'PASS' : 'MISS';
}

/** The target column: absolute, as a ratio, or as given. */
function targetCell(r: Row): string {
  const op = r.better === 'lower' ? '<=' : '>=';
  if (r.targetText) return r.targetText;
  if (r.target !== undefined) return `${op} ${fmt(r.target, r.unit)}`;
  if (r.targetRatio !== undefined) return r.better === 'lower' ? `${op} ${r.targetRatio}x` : `${op} ${(r.targetRatio * 100).toFixed(0)}%`;
  return '-';
}

export function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined || Number.isNaN(v)) return 'n/a';
  const s = v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return unit ? `${s} ${unit}` : s;
}

/** The summary table, as fixed-width text. */
export function table(rows: Row[]): string {
  const head = ['figure', 'flotilla', 'baseline (same run)', 'ratio', 'target', 'result', 'reference'];
  const body = rows.map((r) => [
    r.figure,
    fmt(r.value, r.unit),
    r.baseline === undefined ? '-' : `${fmt(r.baseline, r.baselineUnit ?? (r.unit === 'tasks/s' ? 'msg/s' : r.unit))} ${r.baselineName}`,
    ratio(r),
    targetCell(r),
    verdict(r),
    r.reference ?? '',
  ]);
  return columns(head, body);
}

/** A row of the SSH and SLURM summaries: figures already formatted. */
export interface TextRow {
  figure: string;
  value: string;
  baseline: string;
  ratio: string;
}

/** `a / b` as `1.23x`; '-' when either is missing, NaN or b is 0. */
export const times = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || !b || Number.isNaN(a) || Number.isNaN(b) ? '-' : `${(a / b).toFixed(2)}x`);

/** The SSH and SLURM summary table, as fixed-width text. */
export function textTable(rows: TextRow[]): string {
  return columns(['figure', 'value', 'baseline (same run)', 'ratio'], rows.map((r) => [r.figure, r.value, r.baseline, r.ratio]));
}

/** Left-aligned columns two spaces apart under a dashed rule. */
function columns(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

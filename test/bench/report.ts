/**
 * Targets, reference figures and the summary tables: the core benchmark's (a row holds one
 * figure, the same-run baseline it is compared with, the target and whether it is met) and the
 * SSH and SLURM benchmarks' (figures already formatted, with a ratio to the baseline).
 */

/** Targets from the issue. */
export const TARGETS = Object.freeze({
  latencyMedianUs: 80,
  tasksPerS100k: 100_000,
  readyMs: 150,
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
  /** 'lower' figures compare as value/baseline (x slower), 'higher' as value/baseline (% of limit). */
  better: 'lower' | 'higher';
  target?: number;
  reference?: string;
}

export function ratio(row: Row): string {
  if (row.value === undefined || row.baseline === undefined || !row.baseline) return '-';
  const r = row.value / row.baseline;
  return row.better === 'lower' ? `${r.toFixed(1)}x` : `${(r * 100).toFixed(1)}%`;
}

export function verdict(row: Row): 'PASS' | 'MISS' | '-' {
  if (row.target === undefined) return '-';
  if (row.value === undefined) return 'MISS';
  return (row.better === 'lower' ? row.value <= row.target : row.value >= row.target) ? 'PASS' : 'MISS';
}

export function fmt(v: number | undefined, unit = ''): string {
  if (v === undefined || Number.isNaN(v)) return 'n/a';
  const s = v >= 1000 ? Math.round(v).toLocaleString('en-US') : v >= 100 ? v.toFixed(0) : v.toFixed(1);
  return unit ? `${s} ${unit}` : s;
}

/** The summary table, as fixed-width text. */
export function table(rows: Row[]): string {
  const head = ['figure', 'flotilla', 'baseline (same run)', 'ratio', 'target', 'result', 'issue reference'];
  const body = rows.map((r) => [
    r.figure,
    fmt(r.value, r.unit),
    r.baseline === undefined ? '-' : `${fmt(r.baseline, r.unit === 'tasks/s' ? 'msg/s' : r.unit)} ${r.baselineName}`,
    ratio(r),
    r.target === undefined ? '-' : `${r.better === 'lower' ? '<=' : '>='} ${fmt(r.target, r.unit)}`,
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

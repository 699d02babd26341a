/** Numbers as people read them on the dashboard. */

export function count(n: number): string {
  return n.toLocaleString('en-US');
}

export function bytes(n: number | undefined): string {
  if (n === undefined) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

export function seconds(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s)) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 90) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function rate(r: number): string {
  if (r === 0) return '–';
  return r >= 100 ? `${count(Math.round(r))}/s` : `${r.toFixed(r >= 10 ? 0 : 1)}/s`;
}

export function clock(at: number): string {
  return new Date(at).toLocaleTimeString('en-GB', { hour12: false });
}

/** A stable colour per job id, so a job keeps its colour on the task stream and in the table. */
export function jobColour(job: string): string {
  let h = 0;
  for (let i = 0; i < job.length; i++) h = (h * 31 + job.charCodeAt(i)) >>> 0;
  return `hsl(${(h * 137.508) % 360} 62% 52%)`;
}

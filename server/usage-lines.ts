/** A job's usage and right-sizing summary as `flotilla status <id>` prints it. */
import type { JobStatus } from './job.js';
import { bytes, duration } from './right-sizing.js';

export function usageLines(s: JobStatus): string[] {
  const u = s.usage;
  if (!u || u.tasks === 0) return [];
  const d = u.durationMs;
  const lines = [`  usage of ${u.tasks} task(s) that ran: duration p50 ${duration(d.p50)}, p90 ${duration(d.p90)}, p99 ${duration(d.p99)}, max ${duration(d.max)}`];
  const m = u.peakRssBytes;
  if (m) lines.push(`    agent peak memory while a task ran: p50 ${bytes(m.p50)}, p99 ${bytes(m.p99)}, max ${bytes(m.max)}`);
  if (u.cpuMs) lines.push(`    CPU time: ${duration(u.cpuMs.total)} in all, at most ${duration(u.cpuMs.max)} for one task`);
  if (u.slowest.length) lines.push(`    slowest: ${u.slowest.map((t) => `#${t.index} ${duration(t.durationMs)}${t.agentId ? ` on ${t.agentId}` : ''}`).join(', ')}`);
  if (s.fit) {
    const r = s.fit.requested;
    const asked = [r.walltimeMs !== undefined && `${duration(r.walltimeMs)} walltime`, r.memoryBytes !== undefined && bytes(r.memoryBytes), r.cores !== undefined && `${r.cores} core(s)`].filter(Boolean).join(', ');
    lines.push(`  right-sizing (each agent's job asked for ${asked || 'no stated resources'}, ${r.slots} slot(s)):`);
    for (const l of s.fit.lines) lines.push(`    ${l}`);
  }
  return lines;
}

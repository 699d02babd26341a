/**
 * Grid Engine's words: `h_rt` as Grid Engine reads it, memory sizes, and resources and polite
 * options as `#$` option lines.
 */
import { FlotillaError, badInput } from '../../../contract/errors.js';
import type { PoliteOptions } from '../batch/options.js';
import { beginAt } from '../batch/polite.js';
import type { SgeResources } from './options.js';

/** Longest limit taken (about 190 years). */
const MAX_SECONDS = 6e9;

/** Seconds of an `h_rt`: seconds, `'90s'`, `'30m'`, `'2h'`, `'1d'`, or `'H:MM:SS'`. */
export function sgeSeconds(t: string | number): number {
  if (typeof t === 'number') {
    if (!(t > 0 && t <= MAX_SECONDS)) badInput('resources.h_rt', t, `a positive number of seconds, at most ${MAX_SECONDS}`);
    return Math.ceil(t);
  }
  const s = t.trim();
  const unit = /^(\d{1,10}(?:\.\d{1,6})?)\s*(s|m|min|h|d)$/i.exec(s);
  if (unit) {
    const secs = Math.ceil(Number(unit[1]) * ({ s: 1, m: 60, min: 60, h: 3600, d: 86400 } as Record<string, number>)[unit[2]!.toLowerCase()]!);
    if (secs > 0 && secs <= MAX_SECONDS) return secs;
  } else if (/^\d{1,10}(:\d{1,10}){0,2}$/.test(s)) {
    const secs = s.split(':').map(Number).reduce((a, b) => a * 60 + b, 0);
    if (secs > 0 && secs <= MAX_SECONDS) return secs;
  }
  throw new FlotillaError('BAD_INPUT', `resources.h_rt must be seconds, '2h', '30m', '1d' or Grid Engine's H:MM:SS, got ${JSON.stringify(t)}`);
}

/** `h_rt` as `H:MM:SS`. */
export function sgeTime(t: string | number): string {
  const s = sgeSeconds(t);
  return `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** Megabytes of a Grid Engine memory size (`'512M'`, `'4G'`, `'4g'`; a bare number is bytes), or undefined. */
export function sgeMemoryMb(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)$/i.exec(v.trim());
  if (!m) return undefined;
  return Number(m[1]) * { '': 1 / 2 ** 20, K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G' | 'T'];
}

const SAFE = /^[A-Za-z0-9_.@,:+=/*-]+$/;

function word(what: string, v: string): string {
  if (!SAFE.test(v)) badInput(what, v, 'a Grid Engine name (letters, digits and _.@,:+=/*-)');
  return v;
}

/** `-a` time: `[[CC]YY]MMDDhhmm[.SS]` on the submit host's clock. */
function sgeDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}${p(d.getHours())}${p(d.getMinutes())}.${p(d.getSeconds())}`;
}

/** qsub options for the resources, as Grid Engine users write them. */
export function qsubLines(r: SgeResources): string[] {
  const out: string[] = [];
  if (r.queue !== undefined) out.push(`-q ${word('resources.queue', r.queue)}`);
  if (r.pe !== undefined) {
    if (r.slots !== undefined && !(Number.isInteger(r.slots) && r.slots > 0)) badInput('resources.slots', r.slots, 'a positive integer');
    out.push(`-pe ${word('resources.pe', r.pe)} ${r.slots ?? 1}`);
  } else if (r.slots !== undefined) badInput('resources.slots', r.slots, "slots of a parallel environment: give resources.pe too, e.g. pe: 'smp'");
  const limits: string[] = [];
  if (r.h_rt !== undefined) limits.push(`h_rt=${sgeTime(r.h_rt)}`);
  for (const k of ['h_vmem', 'mem_free'] as const) {
    const v = r[k];
    if (v === undefined) continue;
    if (sgeMemoryMb(v) === undefined) badInput(`resources.${k}`, v, "a memory size like '4G' or '512M'");
    limits.push(`${k}=${v.trim()}`);
  }
  if (limits.length) out.push(`-l ${limits.join(',')}`);
  if (r.project !== undefined) out.push(`-P ${word('resources.project', r.project)}`);
  if (r.account !== undefined) out.push(`-A ${word('resources.account', r.account)}`);
  if (r.holdJid !== undefined) {
    const ids = [r.holdJid].flat();
    out.push(`-hold_jid ${ids.map((j) => word('resources.holdJid', j)).join(',')}`);
  }
  for (const line of r.extra ?? []) out.push(line.replace(/^#\$\s+/, ''));
  for (const line of out) if (/[\n\r]/.test(line)) throw new FlotillaError('BAD_INPUT', `a #$ option contains a line break: ${JSON.stringify(line)}`);
  return out;
}

/** The polite options as qsub options (`exclusive` needs the site's `exclusive` complex, which most define). */
export function sgePoliteLines(p: PoliteOptions): string[] {
  const out: string[] = [];
  if (p.begin !== undefined) out.push(`-a ${sgeDate(beginAt(p.begin))}`);
  if (p.nice !== undefined && p.nice > 0) out.push(`-p -${p.nice}`);
  const only = p.nodelist?.length ? `(${p.nodelist.join('|')})` : '';
  const not = p.exclude?.length ? `!(${p.exclude.join('|')})` : '';
  if (only || not) out.push(`-l hostname=${[only, not].filter(Boolean).join('&')}`);
  if (p.exclusive) out.push('-l exclusive=true');
  return out;
}

/**
 * Unknown option keys, caught eagerly with a suggestion: `{ timeout: 5000 }` is BAD_INPUT
 * "unknown map option timeout (did you mean timeoutMs?)" rather than an option silently ignored.
 */
import { FlotillaError } from './errors.js';

/**
 * The known keys closest to `key`, as "a" or "a or b"; undefined when none is close. Case is
 * ignored, a typo or two counts (a singular finds its plural: retry, retries), and so does a
 * prefix of four letters or more (`timeout` for `timeoutMs`, `idle` for `idleTimeout`).
 */
export function didYouMean(key: string, known: readonly string[]): string | undefined {
  const lower = key.toLowerCase();
  const same = known.find((k) => k.toLowerCase() === lower);
  if (same) return same;
  const stem = (s: string) => s.toLowerCase().replace(/ies$/, 'y').replace(/s$/, '');
  const k = stem(key);
  const scored = [...known].sort().map((cand) => ({ cand, d: distance(k, stem(cand)) }));
  const best = scored.reduce((m, s) => Math.min(m, s.d), Infinity);
  if (best <= Math.max(2, Math.floor(key.length / 3))) return scored.filter((s) => s.d === best).slice(0, 2).map((s) => s.cand).join(' or ');
  return lower.length >= 4 ? known.find((c) => c.toLowerCase().startsWith(lower)) : undefined;
}

/** The known keys as a set, per list (the lists are module constants: one set each, not one per call). */
const allowedSets = new WeakMap<readonly string[], Set<string>>();

/**
 * Throws BAD_INPUT naming every key of `given` that is not in `known`, each with its nearest
 * known key when one is close.
 * @param what how the options are named in the message, e.g. `map option`
 */
export function checkKnownKeys(given: object, known: readonly string[], what: string): void {
  let allowed = allowedSets.get(known);
  if (!allowed) allowedSets.set(known, (allowed = new Set(known)));
  let bad: string[] | undefined;
  for (const k in given) if (Object.hasOwn(given, k) && !allowed.has(k)) (bad ??= []).push(k);
  if (bad === undefined) return;
  const parts = bad.map((k) => {
    const near = didYouMean(k, known);
    return near ? `${k} (did you mean ${near}?)` : k;
  });
  throw new FlotillaError('BAD_INPUT', `unknown ${what}${bad.length > 1 ? 's' : ''} ${parts.join(', ')}; known: ${[...known].sort().join(', ')}`, { context: { unknownKeys: bad } });
}

/** Edit distance for short option names, a swap of two neighbours counting as one edit (prot: port). */
function distance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) cur[j] = Math.min(cur[j]!, before[j - 2]! + 1);
    }
    [before, prev] = [prev, cur];
  }
  return prev[b.length]!;
}

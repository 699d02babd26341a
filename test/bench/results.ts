/**
 * The start and end every benchmark script shares: the machine banner, the phase runner, the
 * results JSON (with the git commit and whether the core code was dirty) and the exit guard.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, platform, release } from 'node:os';

/** The `--only` phases, checked against `all` (default: all of them). */
export function onlyPhases<P extends string>(all: readonly P[], only: string | undefined): Set<string> {
  const set = new Set((only ?? all.join(',')).split(',').map((s) => s.trim()));
  for (const p of set) if (!all.includes(p as P)) throw new Error(`--only takes ${all.join(', ')}; got ${p}`);
  return set;
}

/** A flag's value as a positive integer, or an error naming `--name`. */
export function positive(name: string, v: string | undefined): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${v}`);
  return n;
}

/**
 * Runs the phases named in `only`: `phase(name, f)` prints a header and the time it took, and
 * on failure notes the error in `errors` (printed, and the run goes on) and gives undefined.
 */
export function phaseRunner<P extends string>(only: Set<string>) {
  const errors: Record<string, string> = {};
  async function phase<T>(name: P, f: () => Promise<T>): Promise<T | undefined> {
    if (!only.has(name)) return undefined;
    console.log(`\n== ${name}`);
    const t0 = Date.now();
    try {
      return await f();
    } catch (err) {
      errors[name] = err instanceof Error ? (err.stack ?? err.message) : String(err);
      console.log(`  FAILED: ${errors[name]}`);
      return undefined;
    } finally {
      console.log(`  (${((Date.now() - t0) / 1e3).toFixed(1)} s)`);
    }
  }
  return { phase, errors };
}

/** Prints `flotilla <name> benchmark: node ..., <extra>, load average ...` (and a note when busy); the load average at start. */
export function banner(name: string, extra?: string): number {
  const load = loadavg()[0]!;
  console.log(`flotilla ${name} benchmark: node ${process.version}, ${platform()} ${release()}, ${availableParallelism()} cpu(s) (${cpus()[0]?.model ?? '?'}), ${extra ? `${extra}, ` : ''}load average ${load.toFixed(2)}`);
  if (load > availableParallelism() / 2) console.log(`  note: the machine is busy (load ${load.toFixed(2)} on ${availableParallelism()} cpus); figures will be noisy`);
  return load;
}

/** The machine part of a results file's `env`. */
export const machineEnv = () => ({ node: process.version, platform: `${platform()} ${release()}`, cpus: availableParallelism(), cpuModel: cpus()[0]?.model });

function git(...a: string[]): string | undefined {
  try {
    return execFileSync('git', a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Writes test/bench/results/`file`: date, commit and dirty (agent, server, client changed), then `fields`. */
export function writeResults(file: string, fields: Record<string, unknown>): void {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const out = new URL(file, dir);
  const json = {
    date: new Date().toISOString(),
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--', 'agent', 'server', 'client') ? true : false,
    ...fields,
  };
  writeFileSync(out, JSON.stringify(json, null, 2) + '\n');
  console.log(`\nwrote ${out.pathname}`);
}

/** The fields of test/bench/results/`file` as a previous run wrote them, or undefined when there is none. */
export function readResults<T>(file: string): (T & { date: string; commit: string }) | undefined {
  try {
    return JSON.parse(readFileSync(new URL(`./results/${file}`, import.meta.url), 'utf8')) as T & { date: string; commit: string };
  } catch {
    return undefined;
  }
}

/** One line per failed phase. */
export function printFailures(errors: Record<string, string>): void {
  for (const [name, e] of Object.entries(errors)) console.log(`phase ${name} FAILED: ${e.split('\n')[0]}`);
}

/**
 * The end of a script, everything closed: if some handle still holds the event loop 5 s on,
 * says so and exits instead of hanging; exit code 1 when a phase failed.
 */
export function exitWhenDone(script: string, errors: Record<string, string>): void {
  setTimeout(() => {
    console.error(`${script}: something still holds the event loop after the run; exiting`);
    process.exit(1);
  }, 5000).unref();
  if (Object.keys(errors).length) process.exitCode = 1;
}

/**
 * Where a controller keeps its flow database. A standalone controller keeps it in its state
 * folder; an embedded one, whose state folder is temporary, in a per-user cache folder, so a run
 * that crashed (or an extended grid) finds what earlier runs computed.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The flow database path, or undefined when flows keep nothing on disk. */
export function flowDbPath(opts: { flowCache?: string | false; embedded?: boolean; stateDir?: string }, stateDir: string): string | undefined {
  if (opts.flowCache === false) return undefined;
  if (typeof opts.flowCache === 'string') return opts.flowCache;
  if (!opts.embedded || opts.stateDir) return join(stateDir, 'flows.db');
  return join(process.env.FLOTILLA_CACHE_DIR ?? join(homedir(), '.cache', 'flotilla'), 'flows.db');
}

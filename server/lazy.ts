/**
 * Heavy dependencies, loaded on first use rather than when the library is imported: a client of
 * a remote controller needs none of them, an embedded local run only some. Both are CommonJS, so
 * a synchronous require keeps the constructors that use them synchronous.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** better-sqlite3 (a native addon): the durable job store and the flow cache. */
export function sqlite(): typeof import('better-sqlite3') {
  return require('better-sqlite3') as typeof import('better-sqlite3');
}

/** ssh2 (with its optional native crypto): SSH pools and SLURM login nodes. */
export function ssh2(): typeof import('ssh2') {
  return require('ssh2') as typeof import('ssh2');
}

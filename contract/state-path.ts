/**
 * Where a controller's state folder and token file are, without loading what reads them: the
 * CLI and `connect()` find the token here.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Where a standalone controller keeps its state unless told otherwise. */
export function defaultStateDir(): string {
  return process.env.FLOTILLA_STATE_DIR || join(homedir(), '.flotilla');
}

/** The path of the token file in `dir`. */
export function tokenPath(dir: string): string {
  return join(dir, 'token');
}

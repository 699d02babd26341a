/**
 * Files only the controller's user may read: the state folder at 0700 and what it holds (keys,
 * token, SQLite databases with job specs and results) at 0600, whatever was there before. A mode
 * given at creation is ignored for what already exists, so existing ones are narrowed here.
 */
import { chmodSync, closeSync, lstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { FlotillaError } from '../contract/errors.js';

/** The octal text of a mode's permission bits, for messages. */
const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/**
 * Makes `dir` (created if missing) a folder only this user can enter: mode 0700. A folder of
 * another user, or a shared sticky one like /tmp, is refused rather than narrowed.
 * Returns the mode it had when it was narrowed, for the log.
 */
export function privateDir(dir: string): string | undefined {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) {
    throw new FlotillaError('BAD_INPUT', `the state folder ${dir} belongs to uid ${st.uid}, not to this user (uid ${uid}): give --state-dir a folder of your own`);
  }
  if (st.mode & 0o1000) throw new FlotillaError('BAD_INPUT', `the state folder ${dir} is a shared folder (mode ${octal(st.mode)}): give --state-dir a folder of its own, e.g. ${dir.replace(/\/$/, '')}/flotilla`);
  if ((st.mode & 0o077) === 0) return undefined;
  chmodSync(dir, 0o700);
  return octal(st.mode);
}

/** Narrows an existing file to 0600 (no-op when it is missing or already private). */
export function narrowFile(path: string): void {
  let mode: number;
  try {
    mode = lstatSync(path).mode;
  } catch {
    return;
  }
  if (mode & 0o077) chmodSync(path, 0o600);
}

/**
 * Prepares a SQLite database path: the file is created empty at 0600 if missing (SQLite takes an
 * empty file as a new database), narrowed if wider, and so are its -wal and -shm files. SQLite
 * creates those with the database file's own mode, so later ones are private too.
 */
export function privateDatabase(path: string): void {
  closeSync(openSync(path, 'a', 0o600));
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) narrowFile(p);
}

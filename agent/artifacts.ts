/**
 * The agent's artifact cache: module bundles on disk, named by the sha256 of their code, shared
 * by every lane (thread) of every agent on the host that uses the same cache folder. A lane that
 * was sent an artifact writes it; a lane of the same agent that needs it before it is written
 * waits for the writer's broadcast, then (bounded) asks the controller for it itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FlotillaError } from '../contract/errors.js';

const NAME = /^([0-9a-f]{64})\.mjs$/;
const HASH = /^[0-9a-f]{64}$/;
/** How long a lane waits for a sibling lane to write an artifact before asking the controller. */
export const SIBLING_WAIT_MS = 2_000;
/** How long a lane waits for the controller's answer to `need`. */
const CONTROLLER_WAIT_MS = 60_000;

/** `$FLOTILLA_CACHE_DIR/artifacts`, default `~/.cache/flotilla/artifacts`. */
export function artifactDir(): string {
  const base = process.env.FLOTILLA_CACHE_DIR || join(homedir(), '.cache', 'flotilla');
  return join(base, 'artifacts');
}

/**
 * The file an artifact lives in. Only a sha256 hex digest names one: a path built from anything
 * else (a `../`, a slash) could leave the cache folder.
 * @throws FlotillaError CHANNEL for a name that is not a digest
 */
export function artifactFile(hash: string): string {
  if (typeof hash !== 'string' || !HASH.test(hash)) throw new FlotillaError('CHANNEL', `not an artifact hash: ${JSON.stringify(String(hash).slice(0, 80))}`);
  return join(artifactDir(), `${hash}.mjs`);
}

/**
 * Creates the cache folder private to this user (0700; files 0600): code in it is imported
 * after its hash was checked, and nobody else may swap a file between the check and the import.
 * A folder that exists with wider modes (an older agent's, a umask) is narrowed if it is ours.
 */
export function ensureArtifactDir(): string {
  const dir = artifactDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if ((st.mode & 0o077) !== 0 && st.uid === process.getuid?.()) chmodSync(dir, 0o700);
  return dir;
}

/** Hashes of the artifacts in the disk cache (what `ready` reports). */
export function listCached(): string[] {
  try {
    return readdirSync(artifactDir()).flatMap((f) => NAME.exec(f)?.[1] ?? []);
  } catch {
    return []; // no cache yet
  }
}

function sha256(code: string | Buffer): string {
  return createHash('sha256').update(code).digest('hex');
}

/** Reads a cached artifact, checking its hash; a corrupt file is removed and reported missing. */
export function readCached(hash: string): boolean {
  if (typeof hash !== 'string' || !HASH.test(hash)) return false;
  let buf: Buffer;
  try {
    buf = readFileSync(artifactFile(hash));
  } catch {
    return false;
  }
  if (sha256(buf) === hash) return true;
  rmSync(artifactFile(hash), { force: true });
  return false;
}

/**
 * Writes an artifact atomically (temporary file, then rename): another lane or agent never reads
 * half a file. The code must hash to its name.
 */
export function writeArtifact(hash: string, code: string): void {
  if (sha256(code) !== hash) throw new FlotillaError('CHANNEL', `artifact ${hash.slice(0, 12)} does not match its hash`);
  const dir = ensureArtifactDir();
  const tmp = join(dir, `.${hash}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    writeFileSync(tmp, code, { mode: 0o600 });
    renameSync(tmp, artifactFile(hash));
  } catch (err) {
    rmSync(tmp, { force: true }); // a full disk must not leave half files behind
    throw err;
  }
}

/**
 * One lane's view of the cache: resolves when an artifact is on disk, however it gets there.
 * Lanes of one agent are threads of one process, so a BroadcastChannel tells the waiting ones.
 */
export class ArtifactCache {
  private readonly waiters = new Map<string, Set<(ok: boolean) => void>>();
  private readonly bc = new BroadcastChannel('flotilla-artifacts');
  /** Hashes the controller said it does not have. */
  private readonly absent = new Set<string>();

  constructor(private readonly ask: (hash: string) => void) {
    this.bc.onmessage = (ev) => this.wake(String((ev as MessageEvent).data), true);
    // A lane thread must be able to end while nobody waits.
    (this.bc as unknown as { unref?: () => void }).unref?.();
  }

  /** An `art` message arrived on this lane. */
  received(hash: string, code: string | undefined): void {
    if (code === undefined) {
      this.absent.add(hash);
      return this.wake(hash, false);
    }
    try {
      writeArtifact(hash, code);
    } catch {
      // Corrupt in transit or a full disk: whoever waits for it fails with a reason.
      this.absent.add(hash);
      return this.wake(hash, false);
    }
    this.bc.postMessage(hash);
    this.wake(hash, true);
  }

  /** The artifact's file, once it is in the cache. */
  async ensure(hash: string): Promise<string> {
    const file = artifactFile(hash); // throws for a name that is not a digest, before any `need`
    if (readCached(hash)) return file;
    // A sibling lane was probably sent it a moment ago (unless the controller said it lacks it).
    if (!this.absent.has(hash) && (await this.wait(hash, SIBLING_WAIT_MS))) return file;
    this.absent.delete(hash);
    this.ask(hash);
    if (await this.wait(hash, CONTROLLER_WAIT_MS)) return file;
    throw new FlotillaError('INTERNAL', this.absent.has(hash) ? `artifact ${hash} is not on the controller or could not be written to ${artifactDir()}` : `artifact ${hash} did not arrive within ${CONTROLLER_WAIT_MS} ms`);
  }

  private wait(hash: string, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      let set = this.waiters.get(hash);
      if (!set) this.waiters.set(hash, (set = new Set()));
      const done = (ok: boolean) => {
        clearTimeout(timer);
        set.delete(done);
        resolve(ok && readCached(hash));
      };
      const timer = setTimeout(() => done(readCached(hash)), ms);
      set.add(done);
      // Written between the first check and now: no broadcast will come for it.
      if (readCached(hash)) done(true);
    });
  }

  private wake(hash: string, ok: boolean): void {
    for (const w of [...(this.waiters.get(hash) ?? [])]) w(ok);
    this.waiters.delete(hash);
  }

  close(): void {
    this.bc.close();
  }
}

/**
 * The agent's artifact cache: module bundles on disk, named by the sha256 of their code, shared
 * by every lane (thread) of every agent on the host that uses the same cache folder. A lane that
 * was sent an artifact writes it; a lane of the same agent that needs it before it is written
 * waits for the writer's broadcast, then (bounded) asks the controller for it itself.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { FlotillaError } from './protocol/errors.js';

const NAME = /^([0-9a-f]{64})\.mjs$/;
/** How long a lane waits for a sibling lane to write an artifact before asking the controller. */
export const SIBLING_WAIT_MS = 2_000;
/** How long a lane waits for the controller's answer to `need`. */
const CONTROLLER_WAIT_MS = 60_000;

/** `$FLOTILLA_CACHE_DIR/artifacts`, default `~/.cache/flotilla/artifacts`. */
export function artifactDir(): string {
  const base = process.env.FLOTILLA_CACHE_DIR || join(homedir(), '.cache', 'flotilla');
  return join(base, 'artifacts');
}

/** The file an artifact lives in. */
export function artifactFile(hash: string): string {
  return join(artifactDir(), `${hash}.mjs`);
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
  const dir = artifactDir();
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${hash}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, code);
  renameSync(tmp, artifactFile(hash));
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
    if (readCached(hash)) return artifactFile(hash);
    // A sibling lane was probably sent it a moment ago.
    if (await this.wait(hash, SIBLING_WAIT_MS)) return artifactFile(hash);
    this.absent.delete(hash);
    this.ask(hash);
    if (await this.wait(hash, CONTROLLER_WAIT_MS)) return artifactFile(hash);
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

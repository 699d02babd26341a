/**
 * The controller's module artifacts, by content hash: uploaded by clients before they submit a
 * job that needs them, sent to agents that lack them. Without a store they live in memory (the
 * controller's lifetime is the jobs' and the registry's). With the durable store the database
 * holds them and memory keeps only the most recently used, up to a byte budget, so a
 * long-running controller does not grow with every build a client ever uploaded.
 */
import { createHash } from 'node:crypto';
import { FlotillaError } from '../contract/errors.js';
import type { ArtifactTable } from './store/artifact-table.js';

/** Bytes of artifact code a durable controller keeps in memory (most recently used first). */
export const MEMORY_BUDGET_BYTES = 64 * 1024 * 1024;

const HASH = /^[0-9a-f]{64}$/;

export class ArtifactStore {
  /** In insertion order = least recently used first (a hit moves an entry to the end). */
  private readonly mem = new Map<string, string>();
  private memBytes = 0;

  constructor(
    private readonly table?: ArtifactTable,
    /** Budget of the in-memory cache in front of the table (ignored without a table). */
    private readonly budgetBytes = MEMORY_BUDGET_BYTES,
  ) {}

  has(hash: string): boolean {
    return this.mem.has(hash) || (this.table?.has(hash) ?? false);
  }

  /** Bytes of code held in memory now. */
  get memoryBytes(): number {
    return this.memBytes;
  }

  /**
   * The code of an artifact, or undefined. Code read back from the database is checked against
   * its name again: a damaged row is not sent to agents (who would refuse it anyway).
   */
  get(hash: string): string | undefined {
    const hit = this.mem.get(hash);
    if (hit !== undefined) {
      this.touch(hash, hit);
      return hit;
    }
    const code = this.table?.get(hash);
    if (code === undefined) return undefined;
    if (sha256(code) !== hash) return undefined;
    this.remember(hash, code);
    return code;
  }

  /**
   * Stores an artifact; its code must hash to its name.
   * @throws FlotillaError `BAD_INPUT` when it does not.
   */
  put(hash: string, code: string): void {
    if (!HASH.test(hash)) throw new FlotillaError('BAD_INPUT', `artifact name ${JSON.stringify(hash.slice(0, 80))} is not a sha256 hex digest`);
    const actual = sha256(code);
    if (actual !== hash) throw new FlotillaError('BAD_INPUT', `artifact ${hash}: its code hashes to ${actual}, not to its name`);
    if (this.mem.has(hash)) return;
    this.table?.put(hash, code); // first: what is in memory is always also stored
    this.remember(hash, code);
  }

  /** The hashes of `hashes` this store lacks. */
  missing(hashes: readonly string[]): string[] {
    return hashes.filter((h) => !this.has(h));
  }

  private touch(hash: string, code: string): void {
    if (!this.table) return; // nothing is evicted: order does not matter
    this.mem.delete(hash);
    this.mem.set(hash, code);
  }

  private remember(hash: string, code: string): void {
    this.mem.set(hash, code);
    this.memBytes += code.length;
    if (!this.table) return;
    // Evict the least recently used; the one just stored stays even when it alone is too big.
    for (const [h, c] of this.mem) {
      if (this.memBytes <= this.budgetBytes || h === hash) break;
      this.mem.delete(h);
      this.memBytes -= c.length;
    }
  }
}

function sha256(code: string): string {
  return createHash('sha256').update(code).digest('hex');
}

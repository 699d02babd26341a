/**
 * The controller's module artifacts, by content hash: uploaded by clients before they submit a
 * job that needs them, sent to agents that lack them. In memory, and in the job store's database
 * when the controller is durable.
 */
import { createHash } from 'node:crypto';
import { FlotillaError } from '../agent/protocol/errors.js';
import type { ArtifactTable } from './store/artifact-table.js';

export class ArtifactStore {
  private readonly mem = new Map<string, string>();

  constructor(private readonly table?: ArtifactTable) {}

  has(hash: string): boolean {
    return this.mem.has(hash) || (this.table?.has(hash) ?? false);
  }

  /** The code of an artifact, or undefined. */
  get(hash: string): string | undefined {
    const code = this.mem.get(hash) ?? this.table?.get(hash);
    if (code !== undefined) this.mem.set(hash, code);
    return code;
  }

  /**
   * Stores an artifact; its code must hash to its name.
   * @throws FlotillaError `BAD_INPUT` when it does not.
   */
  put(hash: string, code: string): void {
    const actual = createHash('sha256').update(code).digest('hex');
    if (actual !== hash) throw new FlotillaError('BAD_INPUT', `artifact ${hash}: its code hashes to ${actual}, not to its name`);
    if (this.mem.has(hash)) return;
    this.mem.set(hash, code);
    this.table?.put(hash, code);
  }

  /** The hashes of `hashes` this store lacks. */
  missing(hashes: readonly string[]): string[] {
    return hashes.filter((h) => !this.has(h));
  }
}

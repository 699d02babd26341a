/**
 * In-process CPU profiling of one benchmark phase (node:inspector), so a profile shows the
 * measured path and not start-up. Positions are mapped back to the TypeScript sources where
 * Node knows a source map (tsx-transformed files, dist/ with its .js.map), which makes the
 * summary's file:line point at code a reader can open.
 */
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  callFrame: CallFrame;
}
interface Profile {
  nodes: ProfileNode[];
}

export class PhaseProfiler {
  private readonly session = new Session();
  private started = false;

  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  async start(): Promise<void> {
    if (!this.started) {
      this.session.connect();
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.setSamplingInterval', { interval: 100 });
      this.started = true;
    }
    await this.session.post('Profiler.start');
  }

  /** Stops and writes `<dir>/controller-<name>.cpuprofile`; returns its path. */
  async stop(name: string): Promise<string> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    remap(profile);
    const file = join(this.dir, `controller-${name}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    return file;
  }

  close(): void {
    if (this.started) this.session.disconnect();
  }
}

/** Rewrites generated positions to original ones where a source map is loaded. */
function remap(profile: Profile): void {
  for (const { callFrame: f } of profile.nodes) {
    if (!f.url.startsWith('file:')) continue;
    let map;
    try {
      map = findSourceMap(fileURLToPath(f.url)) ?? findSourceMap(f.url);
    } catch {
      continue;
    }
    const e = map?.findEntry(f.lineNumber, f.columnNumber) as { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
    if (!e?.originalSource) continue;
    f.url = e.originalSource.startsWith('file:') ? e.originalSource : new URL(e.originalSource, f.url).href;
    f.lineNumber = e.originalLine!;
    f.columnNumber = e.originalColumn!;
  }
}

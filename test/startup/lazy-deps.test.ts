/**
 * The weight of `import 'flotilla'`: the heavy dependencies (ssh2 and its native crypto,
 * better-sqlite3, esbuild, execa, cli-progress) load only when what needs them runs, server
 * code only when an embedded controller starts, and of zod only its core and zod/mini until then. Checked by behaviour in real child processes
 * (which modules got loaded), not by time; the time is in test/bench/startup.bench.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { startCliController } from '../support/cli-controller.js';
import type { CliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/loaded-packages.mjs', import.meta.url));

/** What a child process doing `what` loaded: heavy packages, server modules, native addons. */
interface Loaded {
  heavy: string[];
  server: string[];
  fullZod: string[];
  native: string[];
  said?: string;
}

function probe(what: string, ...args: string[]): Promise<Loaded> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [script, what, ...args], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as Loaded);
    }),
  );
}

async function loaded(what: string): Promise<string[]> {
  return (await probe(what)).heavy;
}

describe('what importing flotilla loads', () => {
  it('import of the library loads none of ssh2, better-sqlite3, esbuild, execa, cli-progress', async () => {
    expect(await loaded('import')).toEqual([]);
  });

  it('the check sees a heavy package once something loads it (control)', async () => {
    expect(await loaded('control')).toEqual(['ssh2', 'esbuild']);
  });

  it('a trivial embedded clusterMap loads none of them either', async () => {
    expect(await loaded('embedded')).toEqual([]);
  });

  it('import of the library loads no server module', async () => {
    expect((await probe('import')).server).toEqual([]);
  });

  it('the check sees server code once an embedded controller starts (control)', async () => {
    expect((await probe('embedded')).server).not.toEqual([]);
  });

  it('import of the library loads zod/mini, not the full zod, and its messages are in English', async () => {
    const seen = await probe('import');
    expect(seen.fullZod).toEqual([]);
    expect(seen.said).toBe('distribute options: within: Invalid option: expected one of "inline"|"threads"|"process"');
  });

  it('the check sees the full zod once the controller needs it (control)', async () => {
    expect((await probe('embedded')).fullZod).not.toEqual([]);
  });
});

describe('a session with a running controller', () => {
  const reaper = Reaper.afterAll();
  let ctl: CliController;
  beforeAll(async () => {
    ctl = await startCliController(reaper, ['--agents', '1']);
  });

  it('connect({ url }) and a map load no server module and no native module', async () => {
    const seen = await probe('remote', ctl.url, ctl.tokenFile);
    expect(seen.server).toEqual([]);
    expect(seen.native).toEqual([]);
    expect(seen.heavy).toEqual([]);
  });
});

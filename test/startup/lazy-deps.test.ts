/**
 * The weight of `import 'flotilla'`: the heavy dependencies (ssh2 and its native crypto,
 * better-sqlite3, esbuild, execa, cli-progress) load only when what needs them runs. Checked by
 * behaviour in real child processes (which modules got loaded), not by time; the time is in
 * test/bench/startup.bench.ts.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const script = fileURLToPath(new URL('./fixtures/loaded-packages.mjs', import.meta.url));

function loaded(what: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [script, what], { timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${err.message}\n${stderr}`));
      resolve(JSON.parse(stdout.trim().split('\n').pop()!) as string[]);
    }),
  );
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
});

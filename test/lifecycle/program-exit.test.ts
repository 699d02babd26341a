/**
 * Real programs, run with node, that must end by themselves: nothing of flotilla keeps a
 * finished program alive, and nothing a program submitted to its embedded controller is lost
 * because the program reached its last line.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '../../client/index.js';
import { startCliController } from '../support/cli-controller.js';
import type { CliController } from '../support/cli-controller.js';
import { Reaper } from '../support/reaper.js';

const lib = pathToFileURL(join(import.meta.dirname, '../../dist/client/index.js')).href;
const files = Reaper.afterAll();
const dir = files.tempDir('flotilla-exit-');
let ctl: CliController;

beforeAll(async () => {
  ctl = await startCliController(files, ['--agents', '2']);
}, 60_000);

/** Runs `body` as an ES module program; it must exit on its own (the timeout kills one that does not). */
async function runProgram(name: string, body: string, env: Record<string, string> = {}) {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, `import { clusterMap, connect, flow } from '${lib}';\n${body}\n`);
  const r = await execa('node', [file], { reject: false, timeout: 60_000, env: { FLOTILLA_URL: '', ...env } });
  return { ...r, hung: r.timedOut };
}

describe('programs end by themselves', () => {
  it('a program that maps on a running controller and forgets close() exits', async () => {
    const r = await runProgram(
      'forgets-close',
      `const fl = await connect({ url: ${JSON.stringify(ctl.url)}, tokenFile: ${JSON.stringify(ctl.tokenFile)} });
       console.log(JSON.stringify(await fl.map([1, 2, 3], (x) => x * 2)));
       console.log((await fl.jobs()).length > 0);`,
    );
    expect(r.hung).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['[2,4,6]', 'true']);
    expect(r.exitCode).toBe(0);
  });

  it('a program that iterates a remote job to its end and forgets close() exits', async () => {
    const r = await runProgram(
      'iterates-remote',
      `const fl = await connect({ url: ${JSON.stringify(ctl.url)}, tokenFile: ${JSON.stringify(ctl.tokenFile)} });
       let n = 0;
       for await (const o of fl.map([1, 2, 3, 4], (x) => x)) n += o.ok ? 1 : 0;
       console.log(n);`,
    );
    expect(r.hung).toBe(false);
    expect(r.stdout).toBe('4');
  });

  it('a remote session keeps the program alive while a job it streams is pending', async () => {
    // No await on the job: only the stream keeps the program running until the outcome arrives.
    const r = await runProgram(
      'pending-stream',
      `const fl = await connect({ url: ${JSON.stringify(ctl.url)}, tokenFile: ${JSON.stringify(ctl.tokenFile)} });
       fl.map([300], (ms) => new Promise((r) => setTimeout(() => r('slept ' + ms), ms))).then((v) => console.log(v[0]));`,
    );
    expect(r.hung).toBe(false);
    expect(r.stdout).toBe('slept 300');
  });
});

describe('work submitted to an embedded controller', () => {
  it('fl.submit() on an embedded session keeps the process alive until the job has run', async () => {
    const out = mkdtempSync(join(dir, 'submit-'));
    const r = await runProgram(
      'embedded-submit',
      `const fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } } });
       const id = await fl.submit([1, 2, 3, 4, 5, 6], async (i) => {
         await new Promise((r) => setTimeout(r, 200));
         (await import('node:fs')).writeFileSync(${JSON.stringify(out)} + '/' + i, 'done');
       });
       console.log(id.length > 0);`,
    );
    expect(r.hung).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('flow().submit() on the default embedded session keeps the process alive until the flow has run', async () => {
    const out = mkdtempSync(join(dir, 'flow-'));
    const r = await runProgram(
      'embedded-flow-submit',
      `const h = await flow([{ i: 1 }, { i: 2 }, { i: 3 }], { cache: false })
         .stage('write', async ({ i }) => {
           await new Promise((r) => setTimeout(r, 200));
           (await import('node:fs')).writeFileSync(${JSON.stringify(out)} + '/' + i, 'done');
           return i;
         })
         .submit();
       console.log(h.id.startsWith('fl-'));`,
      { FLOTILLA_CACHE_DIR: join(dir, 'cache') },
    );
    expect(r.hung).toBe(false);
    expect(r.exitCode).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['1', '2', '3']);
  });
});

describe('leaving a for await loop early', () => {
  it('breaking out of for await leaves the job running: await job still gives every value', async () => {
    const fl = await connect({ pools: { local: { launcher: 'local', agents: 2 } } });
    try {
      const job = fl.map([1, 2, 3, 4, 5, 6], async (x) => {
        await new Promise((r) => setTimeout(r, 50));
        return x * 10;
      });
      let first: number | undefined;
      for await (const o of job) {
        if (o.ok) first = o.value;
        break;
      }
      expect(first).toBeGreaterThan(0);
      expect(await job).toEqual([10, 20, 30, 40, 50, 60]);
      expect((await fl.status(await job.id)).state).toBe('done');
    } finally {
      await fl.close();
    }
  });

  it('job.cancel() after breaking out stops the rest, and the program exits', async () => {
    const r = await runProgram(
      'break-and-cancel',
      `const fl = await connect({ url: ${JSON.stringify(ctl.url)}, tokenFile: ${JSON.stringify(ctl.tokenFile)} });
       const job = fl.map(Array.from({ length: 20 }, (_, i) => i), (i) => i === 0 ? 'fast' : new Promise((r) => setTimeout(r, 60_000)));
       for await (const o of job) {
         if (o.ok && o.value === 'fast') { await job.cancel(); break; }
       }
       const s = await fl.status(await job.id);
       console.log(s.state);`,
    );
    expect(r.hung).toBe(false);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('cancelled');
  });
});

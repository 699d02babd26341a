/**
 * Function registry benchmark: what calling a function by name costs next to shipping the same
 * function inline, on the same controller and the same agents, in the same run (rounds
 * alternate the two, so load drifts hit both alike):
 *  - throughput: maps of tiny tasks (50k each by default), by name vs inline; per-task overhead
 *    is the inverse of throughput;
 *  - call latency: one-task calls in a row, `fl.call(name, x)` vs `await fl.map([x], fn)`, where
 *    the controller's name lookup happens once per call.
 * The controller is a standalone CLI process (dist/) and the client reaches it over WebSocket,
 * the way a second program calling a registered function does.
 *
 *   npm run bench:registry -- [--only throughput,latency] [--tasks 50000] [--reps 5] [--calls 300]
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { tempDir } from './measure.js';
import { median, nowUs, percentile } from './stats.js';
import { textTable, times } from './report.js';
import { banner, exitWhenDone, machineEnv, onlyPhases, phaseRunner, positive, printFailures, writeResults } from './results.js';
import { freePort } from '../support/ports.js';

const PHASES = ['throughput', 'latency'] as const;
const { values: args } = parseArgs({
  options: { only: { type: 'string' }, tasks: { type: 'string', default: '50000' }, reps: { type: 'string', default: '5' }, calls: { type: 'string', default: '300' } },
});
const only = onlyPhases(PHASES, args.only);
const n = positive('tasks', args.tasks);
const reps = positive('reps', args.reps);
const calls = positive('calls', args.calls);
const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));

banner('function registry', 'standalone controller (dist/), 2 local agents, client over WebSocket');
const { phase, errors } = phaseRunner<(typeof PHASES)[number]>(only);

// The function under test, both ways: the same source, so only the path to the agent differs.
const tiny = (x: number) => x + 1;
const NAME = 'bench.tiny';

const state = tempDir('flotilla-bench-registry-');
const port = await freePort();
const controller = spawn(process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '2'], { stdio: ['ignore', 'pipe', 'inherit'] });
const exited = new Promise((r) => controller.once('exit', r));
let fl: Session | undefined;
try {
  await new Promise<void>((resolve, reject) => {
    controller.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
    controller.once('exit', (code) => reject(new Error(`controller exited with ${code}`)));
  });
  fl = await connect({ url: `http://127.0.0.1:${port}`, tokenFile: join(state, 'token'), waitForAgents: 2 });
  const session = fl;
  const registered = await session.functions.register(NAME, tiny);
  console.log(`  registered ${NAME} as version ${registered.version.slice(0, 12)}`);

  const tput = await phase('throughput', async () => {
    const items = Array.from({ length: n }, (_, i) => i);
    const check = (values: number[], how: string) => {
      if (values.length !== n || values[0] !== 1 || values[n - 1] !== n) throw new Error(`${how}: wrong values`);
    };
    const modes = {
      inline: async () => check(await session.map(items, tiny), 'inline'),
      byName: async () => check(await session.map<typeof tiny>(NAME, items), 'by name'),
    };
    for (const run of Object.values(modes)) await run(); // warm up: agents have both functions
    const runs: Record<keyof typeof modes, number[]> = { inline: [], byName: [] };
    for (let r = 0; r < reps; r++) {
      for (const mode of r % 2 ? (['byName', 'inline'] as const) : (['inline', 'byName'] as const)) {
        const t0 = nowUs();
        await modes[mode]();
        const perS = n / ((nowUs() - t0) / 1e6);
        runs[mode].push(perS);
        console.log(`  ${n.toLocaleString('en')} tasks, ${mode === 'byName' ? 'by name' : 'inline '}: ${Math.round(perS).toLocaleString('en')} tasks/s`);
      }
    }
    const inline = median(runs.inline), byName = median(runs.byName);
    const overheadUs = 1e6 / byName - 1e6 / inline;
    console.log(`  median: by name ${Math.round(byName).toLocaleString('en')}/s, inline ${Math.round(inline).toLocaleString('en')}/s; per-task difference (by name - inline) ${overheadUs.toFixed(2)} us`);
    return { tasks: n, byNameTasksPerS: byName, inlineTasksPerS: inline, byNameUsPerTask: 1e6 / byName, inlineUsPerTask: 1e6 / inline, runs };
  });

  const latency = await phase('latency', async () => {
    const block = Math.max(1, Math.floor(calls / 6));
    const samples: Record<'inline' | 'byName', number[]> = { inline: [], byName: [] };
    const one = {
      inline: async (i: number) => (await session.map([i], tiny))[0],
      byName: (i: number) => session.call<typeof tiny>(NAME, i),
    };
    for (let i = 0; i < 20; i++) await Promise.all([one.inline(i), one.byName(i)]); // warm up
    for (let done = 0, b = 0; done < calls; done += block, b++) {
      for (const mode of b % 2 ? (['byName', 'inline'] as const) : (['inline', 'byName'] as const)) {
        for (let i = 0; i < block; i++) {
          const t0 = nowUs();
          const v = await one[mode](i);
          samples[mode].push(nowUs() - t0);
          if (v !== i + 1) throw new Error(`${mode} call ${i} returned ${String(v)}`);
        }
      }
    }
    const stat = (xs: number[]) => ({ medianUs: median(xs), p99Us: percentile(xs, 99), calls: xs.length });
    const r = { inline: stat(samples.inline), byName: stat(samples.byName) };
    console.log(`  one-task call: by name median ${(r.byName.medianUs / 1e3).toFixed(2)} ms (p99 ${(r.byName.p99Us / 1e3).toFixed(2)}), inline ${(r.inline.medianUs / 1e3).toFixed(2)} ms (p99 ${(r.inline.p99Us / 1e3).toFixed(2)})`);
    return r;
  });

  console.log('\n' + textTable([
    ...(tput ? [
      { figure: `throughput, ${n.toLocaleString('en')} tiny tasks`, value: `${Math.round(tput.byNameTasksPerS).toLocaleString('en')}/s by name`, baseline: `${Math.round(tput.inlineTasksPerS).toLocaleString('en')}/s inline`, ratio: times(tput.byNameTasksPerS, tput.inlineTasksPerS) },
      { figure: 'per-task time', value: `${tput.byNameUsPerTask.toFixed(2)} us by name`, baseline: `${tput.inlineUsPerTask.toFixed(2)} us inline`, ratio: times(tput.byNameUsPerTask, tput.inlineUsPerTask) },
    ] : []),
    ...(latency ? [
      { figure: 'one-task call, median', value: `${(latency.byName.medianUs / 1e3).toFixed(2)} ms by name`, baseline: `${(latency.inline.medianUs / 1e3).toFixed(2)} ms inline`, ratio: times(latency.byName.medianUs, latency.inline.medianUs) },
    ] : []),
  ]));
  writeResults('registry-latest.json', { env: machineEnv(), throughput: tput, latency });
} finally {
  await fl?.close();
  controller.kill('SIGTERM');
  await exited;
}
printFailures(errors);
exitWhenDone('registry.bench.ts', errors);

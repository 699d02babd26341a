/**
 * Remote client benchmark: tiny tasks (x => x + 1) mapped by a client over WebSocket
 * (connect({ url, token })) to a controller process (the CLI, 2 local agents), next to the same
 * map on an embedded controller (2 local agents) in this process, in alternating runs.
 *
 *   npx tsx test/bench/remote.bench.ts [--tasks 200000] [--reps 3] [--prof DIR]
 *
 * `--prof DIR` writes CPU profiles of the controller process into DIR (profile this process too
 * with `node --cpu-prof --import tsx test/bench/remote.bench.ts`); summarize them with
 * test/bench/cpu-profile-summary.mjs. Needs `npm run build` (the CLI and the agent bundle).
 */
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/session.js';
import { cpuMs, tempDir } from './measure.js';
import { median, nowUs } from './stats.js';
import { textTable, times } from './report.js';
import { banner, exitWhenDone, machineEnv, onlyPhases, phaseRunner, positive, printFailures, writeResults } from './results.js';
import { freePort } from '../support/ports.js';

const PHASES = ['remote'] as const;
const { values: args } = parseArgs({ options: { only: { type: 'string' }, tasks: { type: 'string', default: '200000' }, reps: { type: 'string', default: '3' }, prof: { type: 'string' } } });
const only = onlyPhases(PHASES, args.only);
const n = positive('tasks', args.tasks);
const reps = positive('reps', args.reps);
const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));

banner('remote client');
const { phase, errors } = phaseRunner<(typeof PHASES)[number]>(only);

/** One map of `m` tiny tasks: tasks/s, and CPU per task of this process and of `controllerPid`. */
async function run(fl: Session, m: number, controllerPid?: number) {
  const items = Array.from({ length: m }, (_, i) => i);
  const cpu0 = process.cpuUsage();
  const ctl0 = controllerPid ? cpuMs(controllerPid)! : 0;
  const t0 = nowUs();
  const values = await fl.map(items, (x: number) => x + 1);
  const s = (nowUs() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  if (values.length !== m || values[m - 1] !== m) throw new Error(`map of ${m} returned wrong values`);
  return { tasksPerS: m / s, clientCpuUs: (cpu.user + cpu.system) / m, controllerCpuUs: controllerPid ? ((cpuMs(controllerPid)! - ctl0) * 1e3) / m : NaN };
}

const remote = await phase('remote', async () => {
  const state = tempDir('flotilla-bench-remote-');
  const port = await freePort();
  const prof = args.prof ? ['--cpu-prof', `--cpu-prof-dir=${args.prof}`] : [];
  const child = spawn(process.execPath, [...prof, CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '2', '--no-durable'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const runs: Record<'remote' | 'embedded', ReturnType<typeof run> extends Promise<infer T> ? T[] : never> = { remote: [], embedded: [] };
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
      child.once('exit', (code) => reject(new Error(`controller exited with ${code}`)));
    });
    const sessions = {
      remote: await connect({ url: `http://127.0.0.1:${port}`, tokenFile: join(state, 'token'), waitForAgents: 2 }),
      embedded: await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 }),
    };
    try {
      for (const s of Object.values(sessions)) await run(s, 20_000); // warm up
      for (let r = 0; r < reps; r++) {
        for (const mode of r % 2 ? (['embedded', 'remote'] as const) : (['remote', 'embedded'] as const)) {
          const x = await run(sessions[mode], n, mode === 'remote' ? child.pid : undefined);
          runs[mode].push(x);
          const ctl = mode === 'remote' ? `, controller ${x.controllerCpuUs.toFixed(1)} us/task` : '';
          console.log(`  ${n} tasks, ${mode}: ${Math.round(x.tasksPerS).toLocaleString('en')} tasks/s (client ${x.clientCpuUs.toFixed(1)} us/task${ctl})`);
        }
      }
    } finally {
      await Promise.all(Object.values(sessions).map((s) => s.close()));
    }
  } finally {
    // SIGTERM: the controller exits cleanly, so --cpu-prof writes its profile.
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
  const med = (xs: { tasksPerS: number }[]) => median(xs.map((x) => x.tasksPerS));
  return { tasks: n, remoteTasksPerS: med(runs.remote), embeddedTasksPerS: med(runs.embedded), runs };
});

if (remote) {
  console.log('\n' + textTable([
    { figure: `throughput, ${n.toLocaleString('en')} tiny tasks, 2 local agents`, value: `${Math.round(remote.remoteTasksPerS).toLocaleString('en')}/s remote client`, baseline: `${Math.round(remote.embeddedTasksPerS).toLocaleString('en')}/s embedded`, ratio: times(remote.remoteTasksPerS, remote.embeddedTasksPerS) },
  ]));
}
writeResults('remote-latest.json', { env: machineEnv(), remote });
printFailures(errors);
exitWhenDone('remote.bench.ts', errors);

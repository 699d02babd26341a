/**
 * Durable store benchmark, both figures next to their baseline from the same run:
 *  - throughput: 100k tiny tasks on 2 embedded local agents with the durable store on vs off
 *    (alternating runs), so the cost of committing every result is one ratio; beside it the
 *    process's CPU time per task (the embedded controller and client), which a loaded machine
 *    disturbs less than the rate;
 *  - rows: the store alone (test/bench/store-rows.ts): µs a result to record and commit, to read
 *    back, µs an argument to store and read, bytes a tiny result takes;
 *  - memory: a standalone controller process (the CLI) running a 1,000,000-task job submitted
 *    and collected by this process over its API: the controller's peak RSS with the store on,
 *    next to the same job with jobs kept in memory (--no-durable).
 *
 *   npx tsx test/bench/durable.bench.ts [--only throughput,rows,memory] [--tasks 1000000] [--reps 3]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { connect } from '../../client/index.js';
import { tempDir, throughputRun } from './measure.js';
import { median } from './stats.js';
import { textTable, times } from './report.js';
import { banner, exitWhenDone, machineEnv, onlyPhases, phaseRunner, positive, printFailures, writeResults } from './results.js';
import { freePort } from '../support/ports.js';
import { measureStoreRows } from './store-rows.js';

const PHASES = ['throughput', 'rows', 'memory'] as const;
const { values: args } = parseArgs({ options: { only: { type: 'string' }, tasks: { type: 'string', default: '1000000' }, reps: { type: 'string', default: '3' } } });
const only = onlyPhases(PHASES, args.only);
const bigN = positive('tasks', args.tasks);
const reps = positive('reps', args.reps);
const CLI = fileURLToPath(new URL('../../dist/server/cli.js', import.meta.url));

banner('durable store');
const { phase, errors } = phaseRunner<(typeof PHASES)[number]>(only);

const tput = await phase('throughput', async () => {
  const n = 100_000;
  const runs: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const cpu: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const loop: Record<'on' | 'off', number[]> = { on: [], off: [] };
  const dir = tempDir('flotilla-bench-durable-');
  const sessions = {
    on: await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2, controller: { durable: true, stateDir: dir } }),
    off: await connect({ pools: { local: { launcher: 'local', agents: 2 } }, waitForAgents: 2 }),
  };
  try {
    for (const s of Object.values(sessions)) await throughputRun(s, 'local', 20_000); // warm up
    for (let r = 0; r < reps; r++) {
      for (const mode of r % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const run = await throughputRun(sessions[mode], 'local', n);
        runs[mode].push(run.tasksPerS);
        cpu[mode].push(run.cpuUsPerTask);
        loop[mode].push(run.loopCpuUsPerTask);
        console.log(`  ${n} tasks, store ${mode}: ${Math.round(run.tasksPerS).toLocaleString('en')} tasks/s, ${run.cpuUsPerTask.toFixed(2)} us CPU a task, ${run.loopCpuUsPerTask.toFixed(2)} on the event loop`);
      }
    }
  } finally {
    await Promise.all(Object.values(sessions).map((s) => s.close()));
  }
  const on = median(runs.on), off = median(runs.off);
  const cpuOn = median(cpu.on), cpuOff = median(cpu.off);
  console.log(`  median: store on ${Math.round(on).toLocaleString('en')}/s, off ${Math.round(off).toLocaleString('en')}/s: durability costs ${((1 - on / off) * 100).toFixed(1)}% of throughput`);
  console.log(`  CPU a task: store on ${cpuOn.toFixed(2)} us, off ${cpuOff.toFixed(2)} us: durability adds ${((cpuOn / cpuOff - 1) * 100).toFixed(1)}%`);
  const loopOn = median(loop.on), loopOff = median(loop.off);
  console.log(`  of it on the event loop: store on ${loopOn.toFixed(2)} us, off ${loopOff.toFixed(2)} us: durability adds ${((loopOn / loopOff - 1) * 100).toFixed(1)}%`);
  return { tasks: n, onTasksPerS: on, offTasksPerS: off, runs, onCpuUsPerTask: cpuOn, offCpuUsPerTask: cpuOff, cpu, onLoopUsPerTask: loopOn, offLoopUsPerTask: loopOff, loop };
});

const rows = await phase('rows', async () => {
  const r = measureStoreRows(reps);
  console.log(`  100k tiny results in flushes of 800: record and commit ${r.recordAndCommitUs.toFixed(3)} us a result (${r.recordOnLoopUs.toFixed(3)} on the event loop), read back ${r.readResultsUs.toFixed(3)} us; ${r.bytesPerResult.toFixed(1)} bytes a result`);
  console.log(`  100k tiny arguments in chunks of 8,192: store ${r.storeArgsUs.toFixed(3)} us an argument, read back ${r.readArgsUs.toFixed(3)} us`);
  return r;
});

const kib = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

/** One big job on a controller process; its RSS sampled throughout. */
async function bigJob(durable: boolean) {
  const state = tempDir('flotilla-bench-state-');
  const port = await freePort();
  const child = spawn(process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '2', ...(durable ? [] : ['--no-durable'])], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('listening on') && resolve());
      child.once('exit', (code) => reject(new Error(`controller exited with ${code}`)));
    });
    const fl = await connect({ url: `http://127.0.0.1:${port}`, tokenFile: join(state, 'token'), waitForAgents: 2 });
    const idle = kib(child.pid!, 'VmRSS');
    let peakSampled = idle;
    const sampler = setInterval(() => (peakSampled = Math.max(peakSampled, kib(child.pid!, 'VmRSS'))), 100);
    const t0 = performance.now();
    let count = 0;
    let sum = 0;
    try {
      for await (const o of fl.map({ length: bigN }, (_: unknown, ctx) => ctx.index + 1)) {
        if (!o.ok) throw o.error;
        count++;
        sum += o.value;
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (performance.now() - t0) / 1e3;
    if (count !== bigN || sum !== (bigN * (bigN + 1)) / 2) throw new Error(`got ${count} results summing to ${sum}`);
    const peak = kib(child.pid!, 'VmHWM');
    await fl.close();
    console.log(`  store ${durable ? 'on ' : 'off'}: ${bigN.toLocaleString('en')} tasks in ${seconds.toFixed(1)} s (${Math.round(bigN / seconds).toLocaleString('en')}/s), controller RSS idle ${(idle / 1024).toFixed(0)} MiB, peak ${(peak / 1024).toFixed(0)} MiB`);
    return { seconds, tasksPerS: bigN / seconds, idleMiB: idle / 1024, peakMiB: peak / 1024, peakSampledMiB: peakSampled / 1024 };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
  }
}

const memory = await phase('memory', async () => {
  const on = await bigJob(true);
  const off = await bigJob(false);
  return { tasks: bigN, on, off };
});

console.log('\n' + textTable([
  ...(tput ? [
    { figure: 'throughput, 100k tiny tasks, embedded', value: `${Math.round(tput.onTasksPerS).toLocaleString('en')}/s store on`, baseline: `${Math.round(tput.offTasksPerS).toLocaleString('en')}/s store off`, ratio: times(tput.onTasksPerS, tput.offTasksPerS) },
    { figure: 'CPU a task (controller + client), same runs', value: `${tput.onCpuUsPerTask.toFixed(2)} us store on`, baseline: `${tput.offCpuUsPerTask.toFixed(2)} us store off`, ratio: times(tput.onCpuUsPerTask, tput.offCpuUsPerTask) },
    { figure: '  of it on the event loop', value: `${tput.onLoopUsPerTask.toFixed(2)} us store on`, baseline: `${tput.offLoopUsPerTask.toFixed(2)} us store off`, ratio: times(tput.onLoopUsPerTask, tput.offLoopUsPerTask) },
  ] : []),
  ...(rows ? [
    { figure: 'the store alone: record and commit a tiny result', value: `${rows.recordAndCommitUs.toFixed(3)} us`, baseline: '', ratio: '' },
    { figure: '  of it on the event loop', value: `${rows.recordOnLoopUs.toFixed(3)} us`, baseline: '', ratio: '' },
    { figure: 'the store alone: read a tiny result back', value: `${rows.readResultsUs.toFixed(3)} us`, baseline: '', ratio: '' },
    { figure: 'the store alone: store and read back a tiny argument', value: `${(rows.storeArgsUs + rows.readArgsUs).toFixed(3)} us`, baseline: '', ratio: '' },
  ] : []),
  ...(memory ? [
    { figure: `controller peak RSS, ${bigN.toLocaleString('en')} tasks`, value: `${memory.on.peakMiB.toFixed(0)} MiB store on`, baseline: `${memory.off.peakMiB.toFixed(0)} MiB in memory`, ratio: times(memory.on.peakMiB, memory.off.peakMiB) },
    { figure: `throughput, ${bigN.toLocaleString('en')} tasks, remote client`, value: `${Math.round(memory.on.tasksPerS).toLocaleString('en')}/s store on`, baseline: `${Math.round(memory.off.tasksPerS).toLocaleString('en')}/s in memory`, ratio: times(memory.on.tasksPerS, memory.off.tasksPerS) },
  ] : []),
]));
writeResults('durable-latest.json', { env: machineEnv(), throughput: tput, rows, memory });
printFailures(errors);
exitWhenDone('durable.bench.ts', errors);

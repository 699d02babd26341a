/**
 * Several pools at once: a map's `requires` picks the first pool (in declaration order) whose
 * task slots meet it; impossible requirements and unknown pools fail at submit, saying why.
 * Each task sees its slot's cores in OMP_NUM_THREADS and the like, and so do the processes it
 * spawns; what the agent's environment sets itself wins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../client/index.js';
import type { Session } from '../../client/index.js';
import { rejection } from '../support/async.js';
import { sampler, waitGone } from './helpers.js';

/** What a task sees: which pool's agent runs it, and the thread variables here and in a child process. */
const probe = () => {
  const { execFileSync } = process.getBuiltinModule('node:child_process');
  return {
    which: process.env.WHICH,
    omp: process.env.OMP_NUM_THREADS,
    mkl: process.env.MKL_NUM_THREADS,
    openblas: process.env.OPENBLAS_NUM_THREADS,
    rayon: process.env.RAYON_NUM_THREADS,
    julia: process.env.JULIA_NUM_THREADS,
    child: execFileSync('sh', ['-c', 'echo "$OMP_NUM_THREADS $MKL_NUM_THREADS"'], { encoding: 'utf8' }).trim(),
  };
};

let fl: Session;
let samplers: ReturnType<typeof sampler>[] = [];
beforeAll(async () => {
  fl = await connect({
    pools: {
      small: { launcher: 'local', min: 0, max: 1, slots: 1, cores: 1, memoryMb: 512, labels: ['cpu'], env: { WHICH: 'small' } },
      big: { launcher: 'local', min: 0, max: 1, slots: 2, cores: 3, memoryMb: 8192, labels: ['cpu', 'bigmem'], env: { WHICH: 'big' } },
      gpu: { launcher: 'local', min: 0, max: 1, slots: 1, cores: 2, gpus: 1, labels: ['gpu'], env: { WHICH: 'gpu', OMP_NUM_THREADS: '7' } },
    },
  });
  samplers = [...fl.controller!.pools.values()].map((p) => sampler(p, 50));
});
afterAll(async () => {
  samplers.forEach((s) => s.stop());
  await fl.close();
  await waitGone(samplers.flatMap((s) => [...s.pids]), 5_000, 'agents after close');
});

describe('routing by requires', () => {
  it('starts no agent in a pool with min 0 until a job routed there has tasks', () => {
    expect(fl.controller!.agents().pools.map((p) => [p.name, p.agents])).toEqual([['small', 0], ['big', 0], ['gpu', 0]]);
  });

  it('picks the first pool that meets every requirement, in declaration order', async () => {
    const run = async (opts: object) => (await fl.map([1, 2], probe, opts)).map((r) => r.which);
    expect(await run({})).toEqual(['small', 'small']); // the default pool
    expect(await run({ requires: { cores: 2 } })).toEqual(['big', 'big']);
    expect(await run({ requires: { memoryMb: 4096, labels: ['cpu'] } })).toEqual(['big', 'big']);
    expect(await run({ requires: { gpus: 1 } })).toEqual(['gpu', 'gpu']);
    expect(await run({ requires: { labels: ['cpu'] } })).toEqual(['small', 'small']);
    expect(await run({ pool: 'big' })).toEqual(['big', 'big']);
  });

  it('fails at submit when no pool can serve the requirements, saying what each offers', async () => {
    const err = await rejection(fl.map([1], (x: number) => x, { requires: { cores: 64 } }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/no pool can meet requires \{"cores":64\}/);
    expect(err.message).toMatch(/small offers 1 core\(s\), 512 MB, 0 GPU\(s\), labels \["cpu"\] \(short of cores 64\)/);
    expect(err.message).toMatch(/big offers 3 core\(s\), 8192 MB/);
    expect(err.message).toMatch(/gpu offers 2 core\(s\), unknown memory|gpu offers 2 core\(s\), \d+ MB, 1 GPU/);
    const labels = await rejection(fl.map([1], (x: number) => x, { requires: { gpus: 1, labels: ['bigmem'] } }));
    expect(labels.message).toMatch(/no pool can meet requires/);
    const named = await rejection(fl.map([1], (x: number) => x, { pool: 'small', requires: { gpus: 1 } }));
    expect(named.message).toMatch(/pool "small" cannot meet requires \{"gpus":1\} \(gpus 1\)/);
    const bad = await rejection(fl.map([1], (x: number) => x, { requires: { cores: -1 } }));
    expect(bad.message).toMatch(/requires\.cores/);
  });

  it('fails at submit for a pool name this controller does not have', async () => {
    const err = await rejection(fl.map([1], (x: number) => x, { pool: 'nope' }));
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/no pool named "nope"; this controller has: small, big, gpu/);
  });
});

describe('per-task cores', () => {
  it("sets the thread variables to the slot's cores, in the task and in processes it spawns", async () => {
    const [big] = await fl.map([1], probe, { pool: 'big' });
    expect(big).toMatchObject({ which: 'big', omp: '3', mkl: '3', openblas: '3', rayon: '3', julia: '3', child: '3 3' });
    const [small] = await fl.map([1], probe, { pool: 'small' });
    expect(small).toMatchObject({ omp: '1', mkl: '1', child: '1 1' });
  });

  it("leaves alone what the agent's environment sets", async () => {
    const [gpu] = await fl.map([1], probe, { pool: 'gpu' });
    expect(gpu).toMatchObject({ which: 'gpu', omp: '7', mkl: '2', child: '7 2' });
  });
});

/**
 * Fuzz: what flotilla reads from SLURM (server/launchers/slurm/status.ts: sbatch, squeue and
 * scontrol output) and the resource texts users give (time, memory). Command output of any
 * shape is read without an exception, keeping only lines that fit; a bad resource text is
 * refused with BAD_INPUT naming it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseJobEnd, parseQueue, parseSbatchId } from '../../server/launchers/slurm/status.js';
import { slurmMemoryMb, slurmTimeMs } from '../../server/launchers/slurm/resources.js';
import { budget, params, refusedOrOk } from './fuzz.js';

const STATES = ['PENDING', 'RUNNING', 'COMPLETING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY'];
const jobKey = fc.tuple(fc.nat(99_999_999), fc.option(fc.nat(9999))).map(([j, e]) => (e === null ? `${j}` : `${j}_${e}`));
const queueLine = fc.oneof(
  fc.tuple(jobKey, fc.constantFrom(...STATES)).map(([k, s]) => `${k}|${s}`),
  fc.string({ maxLength: 40 }),
  fc.tuple(jobKey, fc.string({ maxLength: 10 })).map(([k, s]) => `${k}|${s}`),
  fc.constantFrom('', '|', '||', '7_[2-3]|PENDING', 'slurm_load_jobs error: Invalid job id specified', '1|RUNNING|extra'),
);

describe('fuzz: SLURM command output', () => {
  it('squeue output: every well-formed line is kept, nothing else, no exception', () => {
    fc.assert(
      fc.property(fc.array(queueLine, { maxLength: 20 }), (lines) => {
        const q = parseQueue(lines.join('\n'));
        expect(q.size).toBeLessThanOrEqual(lines.length);
        for (const [k, s] of q) {
          expect(k).toMatch(/^\d+(_\d+)?$/);
          expect(s).toMatch(/^[A-Z_]+$/);
        }
        for (const l of lines) {
          const m = /^(\d+(?:_\d+)?)\|([A-Z_]+)$/.exec(l);
          if (m && lines.filter((x) => x.startsWith(`${m[1]}|`)).length === 1) expect(q.get(m[1]!)).toBe(m[2]);
        }
      }),
      params(),
    );
  }, budget());

  it('scontrol output: a state and an exit code in 0..255, whatever the text', () => {
    const field = fc.oneof(
      fc.constantFrom(...STATES).map((s) => `JobState=${s}`),
      fc.tuple(fc.nat(100_000), fc.nat(64)).map(([c, s]) => `ExitCode=${c}:${s}`),
      fc.string({ maxLength: 30 }),
      fc.constantFrom('JobState=', 'ExitCode=:', 'ExitCode=99999999999999999999:0', 'JobState=running'),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 8 }), (fields) => {
        const { state, exitCode } = parseJobEnd(fields.join(' '));
        expect(state).toMatch(/^[A-Z_]+$/);
        expect(Number.isInteger(exitCode) && exitCode >= 0 && exitCode <= 255).toBe(true);
      }),
      params(),
    );
  }, budget());

  it('sbatch output: a job id only when the first line is one', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.tuple(fc.nat(), fc.option(fc.string({ maxLength: 8 }))).map(([n, c]) => (c === null ? `${n}\n` : `${n};${c}\n`))), (out) => {
        const id = parseSbatchId(out);
        if (id !== undefined) expect(id).toMatch(/^\d+$/);
      }),
      params(),
    );
    expect(parseSbatchId('4242\n')).toBe('4242');
    expect(parseSbatchId('4242;cluster1\n')).toBe('4242');
    expect(parseSbatchId('sbatch: error: Batch job submission failed\n')).toBeUndefined();
  });
});

describe('fuzz: SLURM resource texts', () => {
  it('a time limit is read or refused with BAD_INPUT naming resources.time', () => {
    const text = fc.oneof(
      fc.string({ maxLength: 20 }),
      fc.stringMatching(/^\d{1,4}(\.\d{1,2})?\s?(s|m|min|h|d)?$/),
      fc.stringMatching(/^(\d{1,3}-)?\d{1,3}(:\d{1,3}){0,3}$/),
      fc.double(),
    );
    fc.assert(
      fc.property(text, (t) => {
        const ms = refusedOrOk(() => slurmTimeMs(t), ['BAD_INPUT'], /resources\.time/);
        if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0).toBe(true);
      }),
      params(),
    );
  }, budget());

  it('a memory size is read as megabytes or not at all', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^\d{1,6}(\.\d{1,3})?\s?[KMGTkmgt]?B?$/)), (v) => {
        const mb = slurmMemoryMb(v);
        if (mb !== undefined) expect(Number.isFinite(mb) && mb >= 0).toBe(true);
      }),
      params(),
    );
  }, budget());
});

/**
 * Fuzz: what flotilla reads from Grid Engine (server/launchers/sge/status.ts: qsub -terse, qstat
 * -xml and qacct output) and the resource texts users give (h_rt, memory). Command output of any
 * shape is read without an exception, keeping only what fits; a bad resource text is refused
 * with BAD_INPUT naming it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inTaskList, parseQacct, parseQstatXml, parseQsubId } from '../../server/launchers/sge/status.js';
import { sgeMemoryMb, sgeSeconds } from '../../server/launchers/sge/script.js';
import { budget, params, refusedOrOk } from './fuzz.js';

const STATES = ['qw', 'hqw', 'r', 't', 'Rr', 'dr', 'Eqw', 's', 'S'];
const taskList = fc.oneof(
  fc.nat(50).map(String),
  fc.tuple(fc.nat(50), fc.nat(50), fc.integer({ min: 1, max: 4 })).map(([a, b, s]) => `${a}-${a + b}:${s}`),
  fc.array(fc.nat(50), { minLength: 1, maxLength: 4 }).map((a) => a.join(',')),
  fc.string({ maxLength: 12 }),
);
const jobBlock = fc
  .tuple(fc.nat(99), fc.constantFrom(...STATES, 'weird state', ''), taskList, fc.string({ maxLength: 20 }))
  .map(([id, state, tasks, name]) => `<job_list state="x"><JB_job_number>${id}</JB_job_number><JB_name>${name}</JB_name><state>${state}</state><tasks>${tasks}</tasks></job_list>`);
const xml = fc.array(fc.oneof(jobBlock, fc.string({ maxLength: 40 }), fc.constantFrom('<job_list>', '</job_list>', '<tasks>1-3:1</tasks>')), { maxLength: 12 }).map((p) => `<job_info>${p.join('\n')}</job_info>`);
const keys = fc.array(fc.oneof(fc.tuple(fc.nat(99), fc.integer({ min: 1, max: 60 })).map(([j, t]) => `${j}.${t}`), fc.string({ maxLength: 8 })), { maxLength: 10 });

describe('fuzz: Grid Engine command output', () => {
  it('qstat -xml: only asked-for elements, each with a phase and a state, no exception', () => {
    fc.assert(
      fc.property(xml, keys, (text, asked) => {
        const q = parseQstatXml(text, asked);
        for (const [k, e] of q) {
          expect(asked).toContain(k);
          expect(['queued', 'running', 'failed']).toContain(e.phase);
          expect(e.state).toMatch(/^[a-zA-Z]{1,8}$/);
        }
      }),
      params(),
    );
    const out = parseQstatXml(
      '<job_list><JB_job_number>7</JB_job_number><state>r</state><tasks>2</tasks></job_list><job_list><JB_job_number>7</JB_job_number><state>qw</state><tasks>3-9:2</tasks></job_list><job_list><JB_job_number>8</JB_job_number><state>Eqw</state><tasks>1</tasks></job_list>',
      ['7.1', '7.2', '7.5', '7.6', '8.1'],
    );
    expect([...out]).toEqual([['7.2', { phase: 'running', state: 'r' }], ['7.5', { phase: 'queued', state: 'qw' }], ['8.1', { phase: 'failed', state: 'Eqw' }]]);
  }, budget());

  it('task lists: an element is in a range exactly when from <= t <= to on the step', () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), fc.integer({ min: 1, max: 7 }), fc.nat(250), (from, len, step, t) => {
        expect(inTaskList(`${from}-${from + len}:${step}`, t)).toBe(t >= from && t <= from + len && (t - from) % step === 0);
      }),
      params(),
    );
    fc.assert(fc.property(fc.string({ maxLength: 30 }), fc.nat(100), (list, t) => void inTaskList(list, t)), params());
  });

  it('qacct: a known state and an exit code in 0..255, or nothing, whatever the text', () => {
    const line = fc.oneof(
      fc.tuple(fc.nat(120), fc.string({ maxLength: 30 })).map(([n, why]) => `failed       ${n}  : ${why}`),
      fc.nat(100_000).map((n) => `exit_status  ${n}`),
      fc.constantFrom('==============================================================', 'taskid       1', 'exit_status', 'failed'),
      fc.string({ maxLength: 30 }),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const end = parseQacct(lines.join('\n'));
        if (end === undefined) return;
        expect(Number.isInteger(end.exitCode) && end.exitCode >= 0 && end.exitCode <= 255).toBe(true);
        expect(end.ok).toBe(end.state === 'COMPLETED');
      }),
      params(),
    );
    expect(parseQacct('failed       0    \nexit_status  0\n')).toEqual({ state: 'COMPLETED', exitCode: 0, ok: true });
    expect(parseQacct('failed       37  : qmaster enforced h_rt, h_cpu, or h_vmem limit\nexit_status  137                  (Killed)\n')).toMatchObject({ state: 'TIMEOUT', ok: false });
    expect(parseQacct('failed       100 : assumedly after job\nexit_status  137                  (Killed)\n')).toMatchObject({ state: 'CANCELLED', ok: false });
    expect(parseQacct('error: job id 99 not found\n')).toBeUndefined();
  }, budget());

  it('qsub -terse: a job id only when the first line is one', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.tuple(fc.nat(), fc.nat(99)).map(([n, t]) => `${n}.1-${t + 1}:1\n`)), (out) => {
        const id = parseQsubId(out);
        if (id !== undefined) expect(id).toMatch(/^\d+$/);
      }),
      params(),
    );
    expect(parseQsubId('4242.1-3:1\n')).toBe('4242');
    expect(parseQsubId('Unable to run job: error: no suitable queues.\n')).toBeUndefined();
  });
});

describe('fuzz: Grid Engine resource texts', () => {
  it('an h_rt is read or refused with BAD_INPUT naming resources.h_rt', () => {
    const text = fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^\d{1,4}(\.\d{1,2})?\s?(s|m|min|h|d)?$/), fc.stringMatching(/^\d{1,3}(:\d{1,3}){0,3}$/), fc.double());
    fc.assert(
      fc.property(text, (t) => {
        const s = refusedOrOk(() => sgeSeconds(t), ['BAD_INPUT'], /resources\.h_rt/);
        if (s !== undefined) expect(Number.isInteger(s) && s > 0).toBe(true);
      }),
      params(),
    );
  }, budget());

  it('a memory size is a number of MB or undefined', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 12 }), fc.stringMatching(/^\d{1,5}(\.\d)?[kKmMgGtT]?$/)), (v) => {
        const mb = sgeMemoryMb(v);
        if (mb !== undefined) expect(Number.isFinite(mb) && mb >= 0).toBe(true);
      }),
      params(),
    );
  });
});

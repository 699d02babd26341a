/**
 * Schema versions of the state files: a state folder written by the previous release (the
 * fixtures in fixtures/previous-release/, see its README) is migrated on open and served as it
 * was; a file from a newer release is refused with a message that names it and says what to do.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { connect, paramGrid } from '../../client/index.js';
import { FlowDb, FLOW_SCHEMA } from '../../server/flows/db.js';
import { JobStore } from '../../server/store/job-store.js';
import { JOB_SCHEMA } from '../../server/store/job-schema.js';
import { latestVersion, migrate } from '../../server/store/migrate.js';
import type { Schema } from '../../server/store/migrate.js';
import { Reaper, ROOT, startProcess, tempDir, within } from '../lifecycle/helpers.js';
import { until } from '../support/async.js';
import { freePort } from '../support/ports.js';
import { healthy } from '../support/health.js';

const CLI = join(ROOT, 'dist', 'server', 'cli.js');
const FIXTURES = join(ROOT, 'test', 'durable', 'fixtures', 'previous-release');
const IDS = JSON.parse(readFileSync(join(FIXTURES, 'ids.json'), 'utf8')) as { finished: string; cancelled: string; unfinished: string };

/** A state folder holding the previous release's jobs.db and flows.db (copies: the fixtures stay as they are). */
function previousState(reaper: Reaper): string {
  const state = tempDir(reaper);
  for (const f of ['jobs.db', 'flows.db']) copyFileSync(join(FIXTURES, f), join(state, f));
  return state;
}

const userVersion = (file: string) => {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
};

const setUserVersion = (file: string, v: number) => {
  const db = new Database(file);
  db.pragma(`user_version = ${v}`);
  db.close();
};

/** Starts the CLI controller on `state`; resolves once it serves, rejects with its stderr if it exits. */
async function startController(reaper: Reaper, state: string) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = startProcess(reaper, process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '1']);
  let died = '';
  void p.exited.then((e) => (died = `the controller exited (${e.code ?? e.signal}): ${p.stderr().slice(-2000)}`));
  await until(async () => {
    if (died) throw new Error(died);
    return healthy(url);
  }, 30_000);
  return { url, tokenFile: join(state, 'token') };
}

describe('state files written by the previous release', () => {
  it('a controller migrates them, serves the finished and cancelled jobs, continues the unfinished one, and the flow cache answers from its old entries', async () => {
    const reaper = new Reaper();
    const state = previousState(reaper);
    expect(userVersion(join(state, 'jobs.db'))).toBe(0);
    const c = await startController(reaper, state);
    const fl = await connect(c);
    reaper.add(() => fl.close());
    expect(userVersion(join(state, 'jobs.db'))).toBe(latestVersion(JOB_SCHEMA));

    // The finished job: every result as it was stored, the failure with its error.
    expect(await fl.status(IDS.finished)).toMatchObject({ state: 'done', total: 10, done: 10, failed: 1 });
    const finished = await fl.attach<number>(IDS.finished).outcomes();
    expect(finished.map((o) => (o.ok ? o.value : o.error.message))).toEqual([1, 4, 7, 10, 13, 16, 19, expect.stringContaining('seven is not allowed'), 25, 28]);

    // The cancelled job stays cancelled, each task with its cancel.
    expect(await fl.status(IDS.cancelled)).toMatchObject({ state: 'cancelled', total: 6, done: 6 });
    const cancelled = await fl.attach(IDS.cancelled).outcomes();
    expect(cancelled.map((o) => (o.ok ? 'ok' : o.error.code))).toContain('CANCELLED');

    // The unfinished job runs its remaining tasks on this controller's agent and finishes.
    const unfinished = await within(fl.attach<number>(IDS.unfinished).outcomes(), 60_000, 'the unfinished job to finish');
    expect(unfinished.map((o) => o.ok && o.value)).toEqual([1, 4, 7, 10, 13, 16, 19, 22]);

    // A registered function is still there.
    expect((await fl.functions.list()).map((f) => f.name)).toContain('triple');

    // The flow's stage outputs come from the old cache: nothing is run again. A stage's cache key
    // is its source, so the stage is the very text the fixture's script shipped (tsx printed it so).
    const square = new Function('return ({x})=>x*x')() as (row: { x: number }) => number;
    const rows = await fl
      .flow(paramGrid({ x: [1, 2, 3] }))
      .stage('square', square)
      .collect({ progress: false });
    expect(rows.map((r) => [r.status, r.cached, r.square])).toEqual([['ok', true, 1], ['ok', true, 4], ['ok', true, 9]]);
    expect(userVersion(join(state, 'flows.db'))).toBe(latestVersion(FLOW_SCHEMA));
  }, 180_000);
});

describe('a state file from a newer release', () => {
  it('is refused with a message naming the file, its version and the supported one, and the file is left as it was', async () => {
    const reaper = new Reaper();
    const state = previousState(reaper);
    const jobs = join(state, 'jobs.db');
    const newer = latestVersion(JOB_SCHEMA) + 1;
    setUserVersion(jobs, newer);
    const message = `${jobs}: this job database has schema version ${newer}, but this flotilla supports versions up to ${latestVersion(JOB_SCHEMA)}`;
    expect(() => new JobStore(state)).toThrow(expect.objectContaining({ code: 'VERSION_SKEW', message: expect.stringContaining(message) }));
    expect(() => new JobStore(state)).toThrow(/Upgrade flotilla/);
    expect(userVersion(jobs)).toBe(newer);

    // A controller started on it says so and exits, within seconds.
    const port = await freePort();
    const p = startProcess(reaper, process.execPath, [CLI, 'controller', '--port', String(port), '--state-dir', state, '--agents', '1']);
    const ended = await within(p.exited, 30_000, 'the controller to refuse the state folder');
    expect(ended.code).not.toBe(0);
    expect(p.stderr()).toContain(message);

    const flows = join(state, 'flows.db');
    setUserVersion(flows, 7);
    expect(() => new FlowDb(flows)).toThrow(`${flows}: this flow database has schema version 7, but this flotilla supports versions up to ${latestVersion(FLOW_SCHEMA)}`);
  }, 60_000);
});

describe('migrations', () => {
  it('run in order, once; a failing one leaves the file at its old version with nothing of its steps applied', () => {
    const db = new Database(':memory:');
    const ran: number[] = [];
    const steps: Schema['migrations'] = [
      { version: 1, why: 'a', up: (d) => (ran.push(1), d.exec('CREATE TABLE a (x)')) },
      { version: 2, why: 'b', up: (d) => (ran.push(2), d.exec('CREATE TABLE b (x)')) },
    ];
    expect(migrate(db, 'test.db', { kind: 'test database', migrations: steps })).toBe(0);
    expect(migrate(db, 'test.db', { kind: 'test database', migrations: steps })).toBe(2);
    expect(ran).toEqual([1, 2]);

    const failing: Schema = {
      kind: 'test database',
      migrations: [...steps, { version: 3, why: 'c', up: (d) => d.exec('CREATE TABLE c (x); INSERT INTO nowhere VALUES (1)') }],
    };
    expect(() => migrate(db, 'test.db', failing)).toThrow(/nowhere/);
    expect(db.pragma('user_version', { simple: true })).toBe(2);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'c'").get()).toBeUndefined();
    db.close();
  });
});

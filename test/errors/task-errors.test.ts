/**
 * Errors that point at their cause: a task that kills its slot's thread, custom properties of a
 * user's error, globals that are module exports, and mistakes caught before anything runs.
 * Real local agents (dist/agent.mjs) in child processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, FlotillaError } from '../../client/index.js';
import type { Session } from '../../client/index.js';

let fl: Session;
beforeAll(async () => {
  fl = await connect({ pools: { local: { launcher: 'local', agents: 1, slots: 2 } }, waitForAgents: 2 });
});
afterAll(async () => {
  await fl?.close();
});

async function failureOf(job: PromiseLike<unknown> & { outcomes(): Promise<{ ok: boolean; error?: FlotillaError }[]> }): Promise<FlotillaError> {
  const [o] = await job.outcomes();
  expect(o!.ok).toBe(false);
  return o!.error!;
}

describe('a task that kills its thread', () => {
  it('a throw inside setTimeout: the failure names the error and carries the last stderr lines', async () => {
    const err = await failureOf(
      fl.map([1], () => {
        setTimeout(() => {
          console.error('about to fail: step 3 of 5');
          throw new Error('dangling');
        }, 1);
        return new Promise(() => {});
      }, { crashLimit: 1 }),
    );
    expect(err.code).toBe('POISONOUS');
    expect(err.message).toContain('Error: dangling');
    expect(err.message).not.toContain('1006');
    expect(err.context.cause).toMatch(/^uncaught exception: Error: dangling/);
    expect(err.context.stderrTail).toContain('about to fail: step 3 of 5');
  });

  it('an unhandled rejection: the failure says so and names the error', async () => {
    const err = await failureOf(
      fl.map([1], () => {
        void Promise.reject(new RangeError('nobody caught me'));
        return new Promise(() => {});
      }, { crashLimit: 1 }),
    );
    expect(err.code).toBe('POISONOUS');
    expect(err.message).toContain('RangeError: nobody caught me');
    expect(err.context.cause).toMatch(/^unhandled rejection: RangeError: nobody caught me/);
  });

  it('process.exit(3): the failure names the exit code', async () => {
    const err = await failureOf(
      fl.map([1], () => {
        console.error('leaving now');
        process.exit(3);
      }, { crashLimit: 1 }),
    );
    expect(err.code).toBe('POISONOUS');
    expect(err.message).toContain('process.exit(3)');
    expect(err.context.exitCode).toBe(3);
    expect(err.context.stderrTail).toContain('leaving now');
  });

  it('a task that kills its whole agent: the failure names the signal and carries the agent\'s last stderr lines', async () => {
    const err = await failureOf(
      fl.map([1], async () => {
        console.error('last words before the kill');
        await new Promise((r) => setTimeout(r, 300)); // let the line leave the agent
        process.kill(process.pid, 'SIGKILL');
      }, { crashLimit: 1 }),
    );
    expect(err.code).toBe('POISONOUS');
    expect(err.message).toContain('the agent process was killed by SIGKILL');
    expect(err.context.signal).toBe('SIGKILL');
    expect(err.context.stderrTail).toContain('last words before the kill');
  });

  it('the slot comes back: the next job runs', async () => {
    expect(await fl.map([1, 2], (x) => x + 1)).toEqual([2, 3]);
  });
});

describe('a user error as the client sees it', () => {
  it("keeps the error's own properties (code, detail) in props", async () => {
    const err = await failureOf(
      fl.map([1], () => {
        throw Object.assign(new Error('validation failed'), { code: 'E_ROW', detail: { field: 'x', got: -1 }, when: 7 });
      }),
    );
    expect(err.code).toBe('TASK_ERROR');
    expect(err.props).toEqual({ code: 'E_ROW', detail: { field: 'x', got: -1 }, when: 7 });
  });

  it("drops the agent's own frames from the remote stack", async () => {
    const err = await failureOf(fl.map([1], () => { throw new Error('plain'); }));
    expect(err.stack).toContain('Error: plain');
    expect(err.stack).not.toMatch(/agent\.mjs|eval at|node:internal/);
  });
});

describe('a global that cannot travel', () => {
  it('says what to do instead: import it inside the task, or use a module function', async () => {
    class Conn {
      constructor(readonly n = 1) {}
    }
    const err = (await fl.map([1], () => 0, { globals: { conn: new Conn() } }).catch((e: unknown) => e)) as FlotillaError;
    expect(err).toBeInstanceOf(FlotillaError);
    expect(err.code).toBe('BAD_INPUT');
    expect(err.message).toMatch(/await import\('node:fs'\)/);
    expect(err.message).toMatch(/moduleOf/);
  });
});

describe('mistakes caught at submit', () => {
  it('a misspelt map option is BAD_INPUT with "did you mean timeoutMs"', async () => {
    await expect(fl.map([1], (x) => x, { timeout: 5000 } as never)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringContaining('unknown map option timeout (did you mean timeoutMs?)'),
    });
    await expect(fl.map([1], (x) => x, { retry: 1, globalz: {} } as never)).rejects.toMatchObject({
      message: expect.stringMatching(/retry \(did you mean retries\?\).*globalz \(did you mean globals\?\)/),
    });
  });
});

/**
 * A launcher without processes: each launch does what the test's plan says (fail, end before
 * connecting, or connect fake lanes to the scheduler after `connectMs` of fake time), and each
 * agent can be stopped or killed like a real one: its lanes drop, then its exit is reported.
 */
import type { AgentCredentials } from '../../../agent/protocol/identity.js';
import type { AgentExit, AgentHandle, Launcher } from '../../../server/launchers/launcher.js';
import type { Scheduler } from '../../../server/scheduler.js';
import type { FakeLaneChannel, Script } from './fake-lane.js';
import { connectLane } from './plane.js';

/** What the n-th launch (from 0) does. */
export type Launch =
  /** The agent starts and connects its lanes. */
  | 'connect'
  /** launch() itself fails (no such host, sbatch refused). */
  | { fail: string }
  /** The process starts, then ends before it connects. */
  | { exit: number; stderr?: string; ms?: number };

/** One agent the fake launched. */
export class FakeAgent {
  readonly lanes: FakeLaneChannel[] = [];
  /** Told to stop by its pool. */
  stopped = false;
  /** Its process has ended (stopped, killed or on its own). */
  ended = false;
  private report!: (exit: AgentExit) => void;
  readonly handle: AgentHandle;

  constructor(readonly creds: AgentCredentials, pid: number) {
    const exited = new Promise<AgentExit>((resolve) => (this.report = resolve));
    this.handle = {
      agentId: creds.agentId,
      host: 'fake-host',
      pid,
      exited,
      stop: async () => {
        this.stopped = true;
        this.end({ exitCode: null, signal: 'SIGTERM', stderrTail: '' });
      },
    };
  }

  /** The agent process ends: its lanes drop first, then its exit is seen. */
  end(exit: AgentExit): void {
    if (this.ended) return;
    this.ended = true;
    for (const lane of this.lanes) lane.drop(`agent ended (${exit.signal ?? exit.exitCode})`);
    this.report(exit);
  }
}

export class FakeLauncher implements Launcher {
  readonly kind = 'fake';
  readonly agents: FakeAgent[] = [];
  closed = false;

  constructor(
    private readonly scheduler: Scheduler,
    private readonly plan: (n: number) => Launch,
    /** How the agents' lanes answer tasks. */
    private readonly script: Script,
    private readonly opts: { slots?: number; connectMs?: number } = {},
  ) {}

  /** Launches so far, failed ones included. */
  launches = 0;

  async launch(creds: AgentCredentials): Promise<AgentHandle> {
    const what = this.plan(this.launches++);
    if (typeof what === 'object' && 'fail' in what) throw new Error(what.fail);
    const agent = new FakeAgent(creds, this.launches);
    this.agents.push(agent);
    if (what === 'connect') {
      setTimeout(() => {
        for (let i = 0; i < (this.opts.slots ?? 1) && !agent.stopped; i++) {
          agent.lanes.push(connectLane(this.scheduler, this.script, { agentId: creds.agentId, pool: creds.pool, lane: i }).channel);
        }
      }, this.opts.connectMs ?? 50);
    } else {
      setTimeout(() => agent.end({ exitCode: what.exit, signal: null, stderrTail: what.stderr ?? '' }), what.ms ?? 50);
    }
    return agent.handle;
  }

  /** Agents whose process still runs. */
  get live(): FakeAgent[] {
    return this.agents.filter((a) => !a.ended);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

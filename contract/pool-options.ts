/**
 * The options of pools as users write them, for `connect({ pools })` and a controller's config:
 * plain declarations, shared by the client's and the server's public types. The server checks
 * them with each launcher kind's zod schema (server/launchers/<kind>/schema.ts), which a type
 * test keeps equal to these.
 */
import type { RuntimeOption } from './agent-types.js';

/** Options every pool takes, whatever its launcher. */
export interface CommonPoolOptions {
  /**
   * Fewest agents while the pool is in use: started with it, replaced when lost. One that leaves
   * by its own `idleTimeoutMs` is started again when work comes.
   * @default 0 when `max` is given, else all of them
   */
  min?: number;
  /** Most agents at once; the pool grows towards it while tasks wait for a slot. */
  max?: number;
  /** The pool retires an agent idle this long while it has more than `min`: `'5m'`, `'90s'` or ms. @default `idleTimeoutMs`, else 5 minutes */
  idleTimeout?: string | number;
  /**
   * An agent exits on its own after this long without a task (ms): the backstop for when no
   * controller retires it, so larger than `idleTimeout`. @default twice `idleTimeout`, at least 10 minutes
   */
  idleTimeoutMs?: number;
  /** An agent that cannot reach the controller for this long exits (ms). @default 30 s */
  graceMs?: number;
  /** Tasks an agent runs before it is retired (and replaced while still needed), e.g. to bound a leak. @default no limit */
  maxTasks?: number;
  /**
   * How long an agent may live (`'12h'` or ms). It stops taking tasks and is replaced before
   * then (5% earlier, at most 5 min), at a time spread over a further 15% (at most 30 min) so
   * agents started together do not leave together. `false`: no limit.
   * @default slurm: `resources.time`; sge: `resources.h_rt`; others: no limit
   */
  walltime?: string | number | false;
  /**
   * An agent launched that has connected no lane this long after it started (`'90s'` or ms) is
   * stopped and counts as a failed launch. Counted from the launch; for SLURM from when its job is
   * seen RUNNING (within `pollSeconds`), since waiting in the queue is normal. `false`: no limit.
   * @default local and ssh: 60 s; slurm and sge: no limit
   */
  connectTimeout?: string | number | false;
  /** Agents launched and not connected yet, at most (for batch pools: jobs queued and not running yet). @default 16; slurm and sge: `max` */
  maxLaunching?: number;
  /** What a map's `requires.labels` can ask for, e.g. `['bigmem']`. */
  labels?: string[];
  /**
   * Cores one task slot gets; its tasks see OMP_NUM_THREADS and the like set to it.
   * @default local: the machine's cores over `max` × `slots`; slurm: `cpusPerTask / slots`; sge: pe `slots / slots`; ssh: the host's cores over the agent's slots
   */
  cores?: number;
  /** Memory one task slot may use (MB), for routing. @default local: the machine's memory over `max` × `slots`; slurm: `mem / slots`; sge: `h_vmem` × pe slots over `slots`; ssh: unknown */
  memoryMb?: number;
  /** GPUs one task slot gets, for routing. @default slurm: its `gres`/`gpus` over `slots`; others: 0 */
  gpus?: number;
}

/** Options of a pool of local agents. */
export interface LocalPoolOptions extends CommonPoolOptions {
  launcher: 'local';
  /** A fixed number of agent processes: min = max = agents. @default the machine's cores, when neither min nor max is given */
  agents?: number;
  /** Task slots per agent (each a thread). @default 1 */
  slots?: number;
  /** Node binary for agents. @default the controller's */
  node?: string;
  /**
   * Environment for agents beyond what they get from the controller's: an allow-list (PATH, HOME,
   * locale, proxies, module systems, conda, GPUs, thread counts...), never its secrets.
   */
  env?: Record<string, string>;
}

/**
 * Options of a pool of agents on hosts reached over SSH. Its `max` is hosts × agentsPerHost
 * (a smaller `max` may be given); `min` @default max, so every agent starts with the pool.
 * Set `cores` (per slot) so tasks and routing know what a slot gets.
 */
export interface SshPoolOptions extends CommonPoolOptions {
  launcher: 'ssh';
  /** Hosts as ssh knows them: aliases from ~/.ssh/config, or `[user@]host[:port]`. */
  hosts: string[];
  /** Agent processes per host. @default 1 */
  agentsPerHost?: number;
  /** Task slots per agent. @default each host's cores */
  slots?: number;
  /**
   * How agents reach the controller: `never` dial it directly, `always` through a reverse SSH
   * tunnel on the host's loopback, `auto` directly when the host can, else through the tunnel.
   * @default 'auto'
   */
  tunnel?: 'auto' | 'always' | 'never';
  /** Node on the hosts: a command on their PATH or an absolute path. @default 'node' */
  node?: string;
  /** Shell run before `node`, e.g. `module load nodejs/20` or `source ~/env/bin/activate`. */
  setup?: string;
  /**
   * Where a missing or too old Node comes from. `'auto'`: the host's (`node`, after `setup`)
   * when it is >= 20, else flotilla provides one: the controller's own binary when the host's
   * platform matches, else the official release from the npm registry, uploaded once into the
   * host's `~/.cache/flotilla/runtime/<sha256>/`. `'host'`: only the host's own. A path: that Node
   * binary, or an official `node-v22.x-linux-<arch>.tar.xz`/`.tar.gz`, provided on every host.
   * @default 'auto'
   */
  runtime?: RuntimeOption;
  /** Identity file tried before those of the config, as `ssh -i`. */
  identityFile?: string;
  /** ssh_config to read. @default ~/.ssh/config */
  sshConfig?: string;
  /** known_hosts to check host keys against. @default UserKnownHostsFile from the config, else ~/.ssh/known_hosts */
  knownHosts?: string;
  /** Accept (and record) host keys not yet known. A changed key is never accepted. @default false */
  acceptNewHostKeys?: boolean;
  /** Passphrase of encrypted identity files. @default FLOTILLA_SSH_PASSPHRASE */
  passphrase?: string;
  /**
   * Agents outlive their SSH session: a dropped connection is re-opened and they dial back in,
   * instead of being started again. close() still stops them. @default false
   */
  detached?: boolean;
}

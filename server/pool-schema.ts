/**
 * The shape of pool options, as zod schemas: which keys each launcher takes and their types.
 * Ranges and relations between options (min <= max, durations) are checked by planPools, which
 * runs this first; `connect({ pools })` and `flotilla controller --config` run the same check.
 * Kept apart from pool-options.ts so checking options loads no launcher (nor ssh2).
 */
import { z } from 'zod';
import { strictOptions } from '../contract/option-check.js';

const num = z.number();
const duration = z.union([z.string(), z.number()], { error: "a duration like '5m', '90s' or milliseconds" });

/** Keys every pool takes (CommonPoolOptions). */
const common = {
  min: num.optional(),
  max: num.optional(),
  idleTimeout: duration.optional(),
  idleTimeoutMs: num.optional(),
  graceMs: num.optional(),
  maxTasks: num.optional(),
  walltime: z.union([z.string(), z.number(), z.literal(false)], { error: "a duration like '12h', milliseconds, or false" }).optional(),
  connectTimeout: z.union([z.string(), z.number(), z.literal(false)], { error: "a duration like '90s', milliseconds, or false" }).optional(),
  maxLaunching: num.optional(),
  labels: z.array(z.string()).optional(),
  cores: num.optional(),
  memoryMb: num.optional(),
  gpus: num.optional(),
};

const sshConnection = {
  tunnel: z.enum(['auto', 'always', 'never']).optional(),
  node: z.string().optional(),
  setup: z.string().optional(),
  runtime: z.string({ error: "'auto', 'host', or the path of a Node binary or official Node tarball" }).optional(),
  identityFile: z.string().optional(),
  sshConfig: z.string().optional(),
  knownHosts: z.string().optional(),
  acceptNewHostKeys: z.boolean().optional(),
  passphrase: z.string().optional(),
};

const localPool = strictOptions({
  ...common,
  launcher: z.literal('local'),
  agents: num.optional(),
  slots: num.optional(),
  node: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
});

const sshPool = strictOptions({
  ...common,
  ...sshConnection,
  launcher: z.literal('ssh'),
  hosts: z.array(z.string(), { error: "a list of hosts like ['ws1', 'alice@ws2:2222']" }),
  agentsPerHost: num.optional(),
  slots: num.optional(),
  detached: z.boolean().optional(),
});

const slurmResources = strictOptions({
  partition: z.string().optional(),
  time: z.union([z.string(), z.number()]).optional(),
  mem: z.string().optional(),
  memPerCpu: z.string().optional(),
  cpusPerTask: num.optional(),
  nodes: num.optional(),
  ntasks: num.optional(),
  gres: z.string().optional(),
  gpus: z.union([z.string(), z.number()]).optional(),
  account: z.string().optional(),
  qos: z.string().optional(),
  constraint: z.string().optional(),
  exclusive: z.boolean().optional(),
  extra: z.array(z.string()).optional(),
});

const slurmPool = strictOptions({
  ...common,
  launcher: z.literal('slurm'),
  via: z.string().optional(),
  resources: slurmResources.optional(),
  profile: z.string().optional(),
  profiles: z.record(z.string(), slurmResources).optional(),
  agents: num.optional(),
  slots: num.optional(),
  node: z.string().optional(),
  setup: z.string().optional(),
  runtime: z.string({ error: "'auto', 'host', or the path of a Node binary or official Node tarball" }).optional(),
  workDir: z.string().optional(),
  relayListen: z.string().optional(),
  relayAdvertise: z.string().optional(),
  pollSeconds: num.optional(),
  ssh: strictOptions(sshConnection).optional(),
});

/** One pool's options: `launcher` says which kind, and which keys it takes. */
export const poolOptionsSchema = z.discriminatedUnion('launcher', [localPool, sshPool, slurmPool], {
  error: (iss) => (iss.code === 'invalid_union' ? "launcher must be 'local', 'ssh' or 'slurm'" : undefined),
});

/** Pools by name. */
export const poolsSchema = z.record(z.string().min(1), poolOptionsSchema);

/**
 * Pieces of the launchers' option schemas (zod shapes) that several kinds share: the keys of
 * every pool, the SSH connection settings, the keys of every batch pool. Kept apart from the
 * launchers themselves so checking options loads no launcher (nor ssh2).
 */
import { z } from 'zod';
import { strictOptions } from '../../contract/option-check.js';

export const num = z.number();
const duration = z.union([z.string(), z.number()], { error: "a duration like '5m', '90s' or milliseconds" });
export const runtimeSchema = z.string({ error: "'auto', 'host', or the path of a Node binary or official Node tarball" });

/** Keys every pool takes (CommonPoolOptions). */
export const commonShape = {
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

/** How to reach a host over SSH. */
export const sshConnectionShape = {
  tunnel: z.enum(['auto', 'always', 'never']).optional(),
  node: z.string().optional(),
  setup: z.string().optional(),
  runtime: runtimeSchema.optional(),
  identityFile: z.string().optional(),
  sshConfig: z.string().optional(),
  knownHosts: z.string().optional(),
  acceptNewHostKeys: z.boolean().optional(),
  passphrase: z.string().optional(),
};

/** Keys every batch pool takes (BatchPoolOptions), its resources aside. */
export const batchShape = {
  ...commonShape,
  cores: z.union([z.number(), z.literal('all')], { error: "a number of cores, or 'all'" }).optional(),
  via: z.string().optional(),
  agents: num.optional(),
  slots: num.optional(),
  node: z.string().optional(),
  setup: z.string().optional(),
  runtime: runtimeSchema.optional(),
  workDir: z.string().optional(),
  relayListen: z.string().optional(),
  relayAdvertise: z.string().optional(),
  pollSeconds: num.optional(),
  ssh: strictOptions(sshConnectionShape).optional(),
  begin: z.union([z.string(), z.date()], { error: "a time like '22:00', a delay like '2h', or a Date" }).optional(),
  nice: num.optional(),
  nodelist: z.array(z.string()).optional(),
  exclude: z.array(z.string()).optional(),
  exclusive: z.boolean().optional(),
};

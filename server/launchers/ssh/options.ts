import type { CommonPoolOptions } from '../../pool-options.js';
import type { RuntimeOption } from '../../../contract/agent-types.js';

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

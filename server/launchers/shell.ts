/**
 * Where batch commands run: on this machine (the controller is on the login node), or on the
 * login node over SSH. Both give the same few operations, so the batch launcher does not care.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { homedir } from 'node:os';
import type { RemoteHost } from './remote/host.js';
import { run, shq } from './ssh/remote.js';
import { agentBundlePath } from '../bundle.js';
import type { AgentRuntime, RuntimeOption } from '../runtime/index.js';
import { installLocally } from '../runtime/local.js';
import { agentEnvironment } from './agent-env.js';
import { runCommand } from './spawn.js';

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Shell {
  /** Where it runs, for messages. */
  readonly where: string;
  /** Runs a shell command line. */
  run(cmd: string, input?: string): Promise<CommandResult>;
  /** Writes a file only its owner can read (mode 0600, folder 0700). */
  writePrivate(path: string, content: string): Promise<void>;
  /** The user's home folder there. */
  home(): Promise<string>;
  /** The agent bundle's path, quoted as a job script there should use it. */
  bundle(): Promise<string>;
  /** The node command a job script there runs the bundle with, and which runtime that is. */
  node(): Promise<{ command: string; runtime: AgentRuntime | undefined }>;
}

/** Commands on this machine. */
export class LocalShell implements Shell {
  readonly where = 'this machine';
  private installed: Promise<{ command: string; runtime: AgentRuntime | undefined }> | undefined;

  constructor(private readonly opts: { node?: string; runtime?: RuntimeOption } = {}) {}

  run(cmd: string, input?: string): Promise<CommandResult> {
    // sbatch exports its own environment into the job (--export=ALL): only the allow-list, so
    // the controller's secrets never reach a job (or SLURM's records of it).
    return runCommand(cmd, input, agentEnvironment());
  }

  async writePrivate(path: string, content: string): Promise<void> {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, content, { mode: 0o600 });
    chmodSync(path, 0o600);
  }

  async home(): Promise<string> {
    return homedir();
  }

  async bundle(): Promise<string> {
    return shq(agentBundlePath());
  }

  node(): Promise<{ command: string; runtime: AgentRuntime | undefined }> {
    const { node = 'node', runtime = 'auto' } = this.opts;
    // The compute nodes cannot be probed from here: only a runtime given by path is provided.
    if (runtime === 'auto' || runtime === 'host') return Promise.resolve({ command: node === 'node' ? 'node' : shq(node), runtime: undefined });
    this.installed ??= installLocally(runtime).then((r) => ({ command: shq(r.path), runtime: r }));
    this.installed.catch(() => (this.installed = undefined));
    return this.installed;
  }
}

/** Commands on a login node, over its SSH connection (bundle and Node made ready there). */
export class SshShell implements Shell {
  readonly where: string;

  constructor(private readonly remote: RemoteHost) {
    this.where = remote.spec;
  }

  async run(cmd: string, input?: string): Promise<CommandResult> {
    const { client } = await this.remote.prepare();
    return run(client, cmd, 60_000, input);
  }

  async writePrivate(path: string, content: string): Promise<void> {
    const dir = path.slice(0, path.lastIndexOf('/'));
    const r = await this.run(`umask 077 && mkdir -p '${dir}' && cat > '${path}' && chmod 600 '${path}'`, content);
    if (r.code !== 0) throw new Error(`cannot write ${path} on ${this.where}: ${r.stderr.trim()}`);
  }

  async home(): Promise<string> {
    return (await this.run('printf %s "$HOME"')).stdout;
  }

  async bundle(): Promise<string> {
    // Cached in the login node's home, which compute nodes share on a cluster.
    return `"$HOME/${(await this.remote.prepare()).bundle}"`;
  }

  async node(): Promise<{ command: string; runtime: AgentRuntime | undefined }> {
    // Probed and, where needed, provided on the login node, whose home the compute nodes share.
    const c = await this.remote.prepare();
    return { command: c.nodeBin, runtime: c.runtime };
  }
}

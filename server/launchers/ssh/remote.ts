/**
 * What the launcher does on a remote host before an agent can start there: run a command, put
 * the agent bundle in a cache folder keyed by its content hash (uploading it by SFTP only when
 * missing), and probe whether the host can dial the controller directly.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client as SshClient, SFTPWrapper } from 'ssh2';
import { FlotillaError } from '../../../contract/errors.js';

/** Quotes a string for a POSIX shell. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Runs `cmd` through the remote user's shell; resolves with its exit code and output. */
export function run(client: SshClient, cmd: string, timeoutMs = 30_000, input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    client.exec(cmd, (err, ch) => {
      if (err) return reject(new FlotillaError('LAUNCH_FAILED', `cannot run a command: ${err.message}`, { cause: err }));
      let stdout = '', stderr = '', code: number | null = null;
      const timer = setTimeout(() => {
        ch.close();
        reject(new FlotillaError('LAUNCH_FAILED', `\`${cmd}\` did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      ch.on('data', (d: Buffer) => (stdout += d));
      ch.stderr.on('data', (d: Buffer) => (stderr += d));
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
      ch.end(input);
    });
  });
}

/** The shell prefix that makes `node` work there: the user's setup, then the node command. */
export function nodeCommand(node: string, setup: string | undefined): string {
  return `${setup ? `${setup} && ` : ''}${node === 'node' ? 'node' : shq(node)}`;
}

let bundle: { bytes: Buffer; hash: string } | undefined;

/** The agent bundle's bytes and content hash, read once. */
export function agentBundle(path: string): { bytes: Buffer; hash: string } {
  if (!bundle) {
    const bytes = readFileSync(path);
    bundle = { bytes, hash: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
  }
  return bundle;
}

function sftpOf(client: SshClient): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, s) => (err ? reject(new FlotillaError('LAUNCH_FAILED', `SFTP refused: ${err.message}`, { cause: err })) : resolve(s))));
}

/**
 * Makes sure the bundle is in the host's cache (`~/.cache/flotilla/agent-<hash>.mjs`); uploads
 * it only when missing, to a temporary name then renamed, so a half-written file is never run.
 * Returns the remote path (relative to the home folder) and whether it was uploaded.
 */
export async function ensureBundle(client: SshClient, localPath: string): Promise<{ path: string; uploaded: boolean }> {
  const { bytes, hash } = agentBundle(localPath);
  const dir = '.cache/flotilla';
  const path = `${dir}/agent-${hash}.mjs`;
  const sftp = await sftpOf(client);
  try {
    const size = await new Promise<number | undefined>((resolve) => sftp.stat(path, (err, st) => resolve(err ? undefined : st.size)));
    if (size === bytes.length) return { path, uploaded: false };
    const mk = await run(client, `mkdir -p -m 700 "$HOME/${dir}"`);
    if (mk.code !== 0) throw new FlotillaError('LAUNCH_FAILED', `cannot create ~/${dir}: ${mk.stderr.trim()}`);
    const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(tmp, bytes, { mode: 0o600 }, (err) => (err ? reject(new FlotillaError('LAUNCH_FAILED', `upload of the agent failed: ${err.message}`, { cause: err })) : resolve())),
    );
    await new Promise<void>((resolve, reject) =>
      // posix-rename replaces atomically; a concurrent upload of the same bytes is harmless.
      sftp.ext_openssh_rename(tmp, path, (err) => (err ? reject(new FlotillaError('LAUNCH_FAILED', `cannot move the agent into place: ${err.message}`, { cause: err })) : resolve())),
    );
    return { path, uploaded: true };
  } finally {
    sftp.end();
  }
}

/** Whether the host can open a TCP connection to host:port itself (tried with its own Node). */
export async function canDial(client: SshClient, nodeCmd: string, host: string, port: number): Promise<boolean> {
  const js = `const s=require('net').connect(+process.argv[2],process.argv[1]);s.on('connect',()=>process.exit(0));s.on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),3000)`;
  const r = await run(client, `${nodeCmd} -e ${shq(js)} ${shq(host)} ${port}`, 10_000);
  return r.code === 0;
}

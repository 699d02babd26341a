/**
 * How an agent learns who it is: one line of JSON on stdin (the launcher writes it, so the secret
 * never appears in argv or the environment), or a file that only its owner can read.
 */
import { readFileSync, statSync } from 'node:fs';
import type { AgentCredentials } from './protocol/identity.js';

/** Reads the first line of stdin without consuming the rest, which stays open as a lifeline. */
export function readCredentialsLine(stdin: NodeJS.ReadableStream, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => done(new Error(`no credentials on stdin within ${timeoutMs} ms`)), timeoutMs);
    const onData = (chunk: Buffer | string) => {
      buf += chunk.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) done(undefined, buf.slice(0, nl));
    };
    const onEnd = () => done(new Error('stdin closed before credentials were read'));
    function done(err?: Error, line?: string) {
      clearTimeout(timer);
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      if (err) reject(err);
      else resolve(line!);
    }
    stdin.on('data', onData);
    stdin.on('end', onEnd);
  });
}

/** Reads credentials from a file, refusing one that others can read. */
export function readCredentialsFile(path: string): string {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) throw new Error(`credentials file ${path} is readable by others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it`);
  return readFileSync(path, 'utf8').split('\n')[0] ?? '';
}

/** Parses and checks the credentials JSON, naming the first field that is wrong. */
export function parseCredentials(line: string): AgentCredentials {
  let c: Partial<AgentCredentials>;
  try {
    c = JSON.parse(line);
  } catch {
    throw new Error('credentials are not JSON');
  }
  for (const k of ['agentId', 'secretKey', 'controllerKey', 'url'] as const) {
    if (typeof c[k] !== 'string' || c[k] === '') throw new Error(`credentials lack "${k}"`);
  }
  for (const k of ['slots', 'cores'] as const) {
    if (c[k] !== undefined && !(Number.isInteger(c[k]) && c[k] > 0)) throw new Error(`credentials "${k}" must be a positive integer, got ${c[k]}`);
  }
  return c as AgentCredentials;
}

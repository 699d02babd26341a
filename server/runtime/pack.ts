/**
 * What goes over the wire when a host needs a runtime: a compressed copy of the node binary,
 * made once on this machine and kept beside it in the runtime cache (`<sha256>/node.zst`,
 * `node.gz`). zstd first: a host unpacks a runtime's ~95 MB with it in ~0.1 s of CPU, where
 * gunzip needs ~0.6 s, which on a fast link costs more than the bytes it saves; gzip for hosts
 * without `zstd`. Node has zstd from 22.15; before that the `zstd` program of this machine
 * makes the copy, and without either only gzip is offered.
 *
 * A copy is checked here, so the host need not hash what it unpacks: the binary is hashed as it
 * is compressed (it must match the runtime's sha256), and the copy's size and mtime are
 * recorded beside it (`node.zst.ok`) and compared before each send. Both formats carry a
 * checksum of their content (zstd's xxh64, gzip's crc32) that the host's unpacker checks.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { FlotillaError } from '../../contract/errors.js';

/** How a runtime travels: `zst` and `gz` are unpacked on the host, `raw` is the binary itself. */
export type PackFormat = 'zst' | 'gz' | 'raw';

/** What {@link packed} needs of a runtime: its binary, its hash and its folder in the cache. */
export interface Packable {
  file: string;
  sha256: string;
  /** The runtime's own folder in this machine's cache, where its packed copies live. */
  dir: string;
}

/** zstd level 9: ~3 s of CPU once per runtime, within 2% of level 15's size (which takes ~25 s). */
const ZSTD_LEVEL = 9;

type ZstdCompress = (opts: { params: Record<number, number> }) => NodeJS.ReadWriteStream;
/** Node's own zstd (22.15+), not in the types of the Node this builds against. */
const nodeZstd = (zlib as unknown as { createZstdCompress?: ZstdCompress }).createZstdCompress;
const zc = zlib.constants as unknown as Record<string, number>;

let zstdCli: Promise<boolean> | undefined;
/** Whether this machine can make a zstd copy (Node's zlib or the `zstd` program), checked once. */
function canZstd(): Promise<boolean> {
  if (nodeZstd) return Promise.resolve(true);
  zstdCli ??= import('execa').then(({ execa }) => execa('zstd', ['-V'], { reject: false, timeout: 10_000 }).then((r) => r.exitCode === 0));
  return zstdCli;
}

/** The formats this machine can send, preferred first (`raw` always works). */
export async function packFormats(): Promise<PackFormat[]> {
  return (await canZstd()) ? ['zst', 'gz', 'raw'] : ['gz', 'raw'];
}

/** Compresses `src` into `out` in `fmt`. */
async function compress(src: Readable, out: string, fmt: 'zst' | 'gz'): Promise<void> {
  if (fmt === 'gz') return pipeline(src, zlib.createGzip({ level: 6 }), createWriteStream(out, { mode: 0o600 }));
  if (nodeZstd) {
    const z = nodeZstd({ params: { [zc.ZSTD_c_compressionLevel!]: ZSTD_LEVEL, [zc.ZSTD_c_checksumFlag!]: 1 } });
    return pipeline(src, z, createWriteStream(out, { mode: 0o600 }));
  }
  const { execa } = await import('execa');
  // -T0: all cores, once; --check: the frame carries the checksum that `zstd -d` on the host checks.
  const zstd = execa('zstd', ['-q', `-${ZSTD_LEVEL}`, '-T0', '--check', '-c'], { stdin: 'pipe', stdout: { file: out }, reject: false });
  await Promise.all([pipeline(src, zstd.stdin!), zstd]);
  const r = await zstd;
  if (r.exitCode !== 0) throw new Error(`zstd: ${String(r.stderr).trim().slice(-300) || `exit ${r.exitCode}`}`);
}

/** A file's size and mtime, to notice a change. */
const stampOf = (path: string) => {
  const st = statSync(path, { throwIfNoEntry: false });
  return st && `${st.size}.${Math.round(st.mtimeMs)}`;
};

/** Makes `out` from `rt.file`, hashing the bytes it compresses: a stale cache entry is refused. */
async function make(rt: Packable, out: string, fmt: 'zst' | 'gz'): Promise<string> {
  const tmp = `${out}.${process.pid}.tmp`;
  const hash = createHash('sha256');
  // A transform, not a 'data' listener: nothing flows before the compressor is attached.
  const tap = new Transform({ transform: (c: Buffer, _e, next) => next(null, hash.update(c) && c) });
  try {
    await Promise.all([pipeline(createReadStream(rt.file), tap), compress(tap, tmp, fmt)]);
    const sha = hash.digest('hex');
    if (sha !== rt.sha256) throw new Error(`${rt.file} changed since it was hashed (sha256 ${sha}, expected ${rt.sha256}); connect again`);
    await rename(tmp, out);
    await writeFile(`${out}.ok`, stampOf(out)!, { mode: 0o600 });
    return out;
  } catch (err) {
    await rm(tmp, { force: true });
    throw new FlotillaError('INTERNAL', `cannot compress the runtime ${rt.file} into ${out}: ${(err as Error).message}`, { cause: err });
  }
}

const making = new Map<string, Promise<string>>();

/**
 * The path of `rt` packed as `fmt`: the copy in the cache when it is as it was made, else one
 * made now (once, through a temporary name, however many callers ask at a time).
 */
export async function packed(rt: Packable, fmt: PackFormat): Promise<string> {
  if (fmt === 'raw') return rt.file;
  const out = join(rt.dir, `node.${fmt}`);
  let p = making.get(out);
  if (p) return p;
  const stamp = stampOf(out);
  if (stamp && stamp === (await readFile(`${out}.ok`, 'utf8').catch(() => undefined))) return out;
  p = making.get(out); // another caller may have started while this one read the stamp
  if (!p) {
    p = make(rt, out, fmt).finally(() => making.delete(out));
    making.set(out, p);
  }
  return p;
}

/** Drops a packed copy a host found damaged, so the next upload makes it anew. */
export async function dropPacked(rt: Packable, fmt: PackFormat): Promise<void> {
  if (fmt !== 'raw') await rm(join(rt.dir, `node.${fmt}`), { force: true });
}

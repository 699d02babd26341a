/**
 * A Node binary for a host's platform, found on this machine (the controller's side): the
 * controller's own when it suits the host, the official release from the npm registry
 * otherwise, or the file the user gave (a binary or an official tarball). Each is named by the
 * sha256 of its bytes, which the user's cache (`~/.cache/flotilla/runtimes/`) remembers, so it
 * is fetched and hashed once; its folder there, `<sha256>/`, also holds the compressed copies
 * that go over the wire (pack.ts).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, open, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { FlotillaError } from '../../contract/errors.js';
import { fetchNode, newestNode } from './npm.js';
import { extractNode, isTarball, versionFromName } from './tarball.js';

/** A runtime on this machine, ready to upload. */
export interface LocalRuntime {
  /** The node binary here. */
  file: string;
  /** Its folder in this machine's runtime cache (meta.json, and the packed copies of pack.ts). */
  dir: string;
  sha256: string;
  size: number;
  /** `v22.11.0`; undefined for a binary the user gave (the host says, once it runs it). */
  version: string | undefined;
  arch: string;
  /** Oldest glibc it runs on. */
  minGlibc: string;
  /** Where it came from, for messages and `fl.agents()`. */
  origin: string;
}

/** Official Node 20 and 22 Linux builds need glibc 2.28. */
export const OFFICIAL_MIN_GLIBC = '2.28';

/** The controller's runtime cache: `$XDG_CACHE_HOME/flotilla/runtimes`, else `~/.cache/flotilla/runtimes`. */
export function runtimeCacheDir(): string {
  return process.env.FLOTILLA_RUNTIME_CACHE ?? join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flotilla', 'runtimes');
}

const ELF_ARCH: Record<number, string> = { 0x3e: 'x64', 0xb7: 'arm64' };

/** The architecture of an ELF executable, or why it is not one. */
export async function elfArch(file: string): Promise<string> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(20);
    await fh.read(b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) throw new FlotillaError('BAD_INPUT', `runtime ${file} is not a Linux executable (no ELF header): give a Linux Node binary or an official node-v22.x-linux-x64.tar.xz`);
    return ELF_ARCH[b.readUInt16LE(18)] ?? `machine ${b.readUInt16LE(18)}`;
  } finally {
    await fh.close();
  }
}

async function sha256Of(file: string): Promise<string> {
  const h = createHash('sha256');
  await pipeline(createReadStream(file), h);
  return h.digest('hex');
}

/** `key -> sha256` of what was hashed before (file path + size + mtime, or npm package@version). */
const indexFile = () => join(runtimeCacheDir(), 'index.json');
function readIndex(): Record<string, string> {
  try {
    return JSON.parse(readFileSync(indexFile(), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}
async function remember(key: string, sha: string): Promise<void> {
  const idx = { ...readIndex(), [key]: sha };
  const tmp = `${indexFile()}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(idx, null, 1), { mode: 0o600 });
  await rename(tmp, indexFile());
}

/**
 * Registers `file` (hashing it unless the index knows it) and gives it a folder with a
 * meta.json; the binary itself stays where it is (the controller's own is not copied).
 */
async function register(key: string, file: string, meta: Omit<LocalRuntime, 'file' | 'dir' | 'sha256' | 'size'>): Promise<LocalRuntime> {
  const dir = runtimeCacheDir();
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const st = statSync(file);
  const fullKey = `${key}|${st.size}|${Math.round(st.mtimeMs)}`;
  const sha = readIndex()[fullKey] ?? (await sha256Of(file));
  const own = join(dir, sha);
  await mkdir(own, { recursive: true, mode: 0o700 });
  await remember(fullKey, sha);
  await writeFile(join(own, 'meta.json'), JSON.stringify({ ...meta, sha256: sha, size: st.size }), { mode: 0o600 });
  return { ...meta, file, dir: own, sha256: sha, size: st.size };
}

/** Why the controller's own node cannot serve a host of this platform, or undefined when it can. */
export function selfUnfit(arch: string, glibc: string | undefined): string | undefined {
  if (process.platform !== 'linux') return `this machine runs ${process.platform}`;
  if (process.arch !== arch) return `this machine is ${process.arch}`;
  const vars = process.config.variables as Record<string, unknown>;
  if (Object.entries(vars).some(([k, v]) => k.startsWith('node_shared') && v === true)) return 'its node is built against shared libraries';
  const header = (process.report?.getReport() as { header?: { glibcVersionCompiler?: string } } | undefined)?.header;
  if (!header?.glibcVersionCompiler) return 'its node is not built against glibc';
  if (glibc === undefined) return undefined;
  const [a = 0, b = 0] = glibc.split('.').map(Number);
  const [c = 0, d = 0] = header.glibcVersionCompiler.split('.').map(Number);
  if (a < c || (a === c && b < d)) return `its node needs glibc ${header.glibcVersionCompiler}`;
  return undefined;
}

const inFlight = new Map<string, Promise<LocalRuntime>>();
function once(key: string, make: () => Promise<LocalRuntime>): Promise<LocalRuntime> {
  let p = inFlight.get(key);
  if (!p) {
    p = make();
    inFlight.set(key, p);
    p.catch(() => inFlight.delete(key));
  }
  return p;
}

/** The controller's own node binary as a runtime. */
export function selfRuntime(): Promise<LocalRuntime> {
  const header = (process.report.getReport() as { header?: { glibcVersionCompiler?: string } }).header;
  return once(`self:${process.execPath}`, () =>
    register(`self:${process.execPath}`, process.execPath, { version: process.version, arch: process.arch, minGlibc: header?.glibcVersionCompiler ?? OFFICIAL_MIN_GLIBC, origin: `the controller's own node ${process.version}` }),
  );
}

/** The newest supported official release for `arch`, from the npm registry (fetched once). */
export function npmRuntime(arch: string): Promise<LocalRuntime> {
  return once(`npm:${arch}`, async () => {
    const rel = await newestNode(arch);
    const dir = join(runtimeCacheDir(), 'npm');
    const dest = join(dir, `${rel.pkg}-${rel.version}`);
    if (!existsSync(dest)) await fetchNode(rel, dir, dest);
    return register(`npm:${rel.pkg}@${rel.version}`, dest, { version: `v${rel.version}`, arch, minGlibc: OFFICIAL_MIN_GLIBC, origin: `${rel.pkg}@${rel.version} from the npm registry` });
  });
}

/** The file the user gave: a node binary, or an official tarball whose bin/node is taken out (once). */
export function fileRuntime(path: string): Promise<LocalRuntime> {
  const abs = resolve(path.startsWith('~/') ? join(homedir(), path.slice(2)) : path);
  return once(`file:${abs}`, async () => {
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new FlotillaError('BAD_INPUT', `runtime ${abs} does not exist: give the path of a Node binary or of an official node-v22.x-linux-<arch>.tar.xz / .tar.gz, or 'auto' / 'host'`);
    }
    let file = abs;
    const version = versionFromName(abs);
    if (isTarball(abs)) {
      const key = `tar:${abs}|${st.size}|${Math.round(st.mtimeMs)}`;
      const dir = join(runtimeCacheDir(), 'extracted');
      await mkdir(dir, { recursive: true, mode: 0o700 });
      file = join(dir, createHash('sha256').update(key).digest('hex').slice(0, 32));
      if (!existsSync(file)) await extractNode(abs, file);
    }
    const arch = await elfArch(file);
    return register(`file:${file}`, file, { version, arch, minGlibc: OFFICIAL_MIN_GLIBC, origin: abs });
  });
}

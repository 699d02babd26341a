/**
 * Puts a runtime on a host once: `~/.cache/flotilla/runtime/<sha256>/node`. One exec channel
 * does it all with one round trip when the host has it: a POSIX script checks the file (by a
 * size+mtime stamp written when its sha256 was last verified, else by hashing it), and only
 * when it is missing or damaged takes the host's lock (a `mkdir`, so racing launches from any
 * number of controllers share one upload), unpacks and hashes the bytes (zstd, else gzip, as the
 * host can unpack them: pack.ts) as they arrive into a temporary name, checks sha256 and size,
 * and renames the file into place. It ends by running `node -v`, so a binary the host cannot run
 * is refused here, with the reason, not when the first agent starts.
 *
 * When the probe saw no copy on the host, the bytes go with the script, in a format it said the
 * host can unpack: the transfer starts at once and the script's checks and lock overlap it. A
 * host that has the runtime after all (another launch just stored it) reads none of them: the
 * channel closes on what is in flight. Otherwise the script asks for a format (`send`) first.
 */
import { createReadStream } from 'node:fs';
import type { ReadStream } from 'node:fs';
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../contract/errors.js';
import { shq } from '../launchers/ssh/remote.js';
import type { LocalRuntime } from './obtain.js';
import { dropPacked, packed, packFormats } from './pack.js';
import type { PackFormat } from './pack.js';

/** Where runtimes live on a host, relative to its home. */
export const REMOTE_RUNTIMES = '.cache/flotilla/runtime';

/** A lock older than this whose owner cannot be checked (another machine) is taken over. */
const STALE_LOCK_MIN = 30;

/**
 * The host side; $1 is the sha256, $2 the size, $3 the formats the controller can send,
 * preferred first, $4 `push` when the bytes come without asking (in the first of $3). Prints
 * `have`, or `send zst|gz|raw` then `stored` (or `bad <why>`: the sha256 that arrived,
 * `unpack-failed` or `size`); then `version=`.
 */
const SCRIPT = `
set -u
sha=$1; size=$2; offer=$3; push=\${4:-}
root="$HOME/${REMOTE_RUNTIMES}"; d="$root/$sha"; f="$d/node"; lock="$d.lock"
# The fastest sha256 the host has: openssl's uses the CPU's SHA instructions (~5x sha256sum).
h=-
pickhash() {
  [ "$h" = - ] || return 0
  h=
  for c in 'openssl dgst -sha256 -r' sha256sum 'shasum -a 256'; do
    [ "$(printf '' | $c 2>/dev/null | cut -c1-64)" = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 ] && { h=$c; return 0; }
  done
}
sum() { pickhash; if [ -n "$h" ]; then $h < "$1" | cut -c1-64; else "$1" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1" 2>/dev/null; fi; }
stamp() { stat -c '%s.%Y' "$1" 2>/dev/null; }
good() {
  [ -x "$f" ] || return 1
  s=$(stamp "$f")
  [ -n "$s" ] && [ "$(cat "$f.ok" 2>/dev/null)" = "$s" ] && return 0
  [ "$(sum "$f")" = "$sha" ] || return 1
  [ -z "$s" ] || printf '%s\\n' "$s" > "$f.ok"
}
finish() { printf 'version='; "$f" -v 2>&1 | head -c 300; echo; }
if good; then echo have; finish; exit 0; fi
mkdir -p "$root" && chmod 700 "$HOME/.cache/flotilla" || exit 3
me="$(hostname 2>/dev/null) $$"
until mkdir "$lock" 2>/dev/null; do
  owner=$(cat "$lock/owner" 2>/dev/null)
  if [ "\${owner% *}" = "$(hostname 2>/dev/null)" ] && [ -n "\${owner#* }" ] && ! kill -0 "\${owner#* }" 2>/dev/null; then rm -rf "$lock"; continue; fi
  if [ -n "$(find "$lock" -maxdepth 0 -mmin +${STALE_LOCK_MIN} 2>/dev/null)" ]; then rm -rf "$lock"; continue; fi
  sleep 1
  if [ -f "$f.ok" ] && good; then echo have; finish; exit 0; fi
done
tmp="$d/node.$$.tmp"
# A dropped connection ends this shell: the lock and a half-written file go with it.
trap 'rm -rf "$lock" "$tmp"' EXIT
trap 'exit 1' HUP INT TERM PIPE
printf '%s\\n' "$me" > "$lock/owner"
if good; then echo have; finish; exit 0; fi
mkdir -p "$d" && rm -f "$f.ok" || exit 3
fmt=raw; un=cat
for x in $offer; do
  case $x in
    zst) { [ "$push" = push ] || command -v zstd >/dev/null 2>&1; } && { fmt=zst; un='zstd -dcq'; break; } ;;
    gz) { [ "$push" = push ] || command -v gunzip >/dev/null 2>&1; } && { fmt=gz; un='gunzip -c'; break; } ;;
    raw) break ;;
  esac
done
# Made executable before the bytes come (the redirect below keeps the mode): after them, only a stat and mv.
: > "$tmp" && chmod 755 "$tmp" || exit 3
echo "send $fmt"
# Unpacked as it arrives, straight into the file. zstd and gzip check their stream's checksum
# (the controller checked the packed copy against the sha256), so only raw bytes are hashed here.
if $un > "$tmp"; then
  [ "$fmt" != raw ] || { got=$(sum "$tmp"); got=\${got:-unhashed}; }
else
  got=unpack-failed
fi
s=$(stamp "$tmp")
if [ "\${got:-$sha}" != "$sha" ] || [ "\${s%%.*}" != "$size" ]; then rm -f "$tmp"; echo "bad \${got:-size}"; exit 4; fi
# rename keeps the size and mtime: the stamp of the file in place.
mv -f "$tmp" "$f" && printf '%s\\n' "$s" > "$f.ok"
echo stored
finish
`;

/** What {@link ensureRuntime} did. */
export interface RemoteRuntime {
  /** The binary's path on the host, relative to its home. */
  path: string;
  /** Whether bytes were sent (false: the host had it). */
  uploaded: boolean;
  /** What `node -v` printed there. */
  version: string;
  /** Bytes sent over the wire. */
  sentBytes: number;
  /** How they were packed (undefined when nothing was sent). */
  format?: PackFormat;
}

/** The host's report that what arrived does not hash to the runtime's sha256. */
class Damaged extends Error {
  constructor(
    readonly got: string,
    readonly format: PackFormat,
  ) {
    super(got);
  }
}

/** Options of {@link ensureRuntime}. */
export interface EnsureRuntimeOptions {
  /** @default 20 minutes */
  timeoutMs?: number;
  /** The formats offered to the host, preferred first. @default what this machine can make: zst, gz, raw */
  formats?: PackFormat[];
  /**
   * What the probe saw: the host has no copy of the runtime, and these unpackers (`zstd`,
   * `gunzip`). The bytes then go at once, in the first format offered that the host can unpack.
   */
  missing?: { unpackers: string[] };
}

/**
 * Makes sure `rt` is on the host; sends it only when missing or damaged there. When what
 * arrived is damaged, the packed copy here is made anew and sent once more.
 */
export async function ensureRuntime(client: SshClient, host: string, rt: LocalRuntime, opts: EnsureRuntimeOptions = {}): Promise<RemoteRuntime> {
  const { timeoutMs = 20 * 60_000 } = opts;
  const offer = opts.formats ?? (await packFormats());
  const can = (f: PackFormat) => f === 'raw' || opts.missing?.unpackers.includes(f === 'zst' ? 'zstd' : 'gunzip');
  for (let attempt = 1; ; attempt++) {
    try {
      // A second attempt asks first: what arrived may have been damaged by a wrong guess.
      const push = attempt === 1 && opts.missing ? offer.find(can) : undefined;
      return await putOnce(client, host, rt, push ? [push] : offer, push !== undefined, timeoutMs);
    } catch (err) {
      if (!(err instanceof Damaged)) throw err;
      await dropPacked(rt, err.format);
      if (attempt === 2) {
        throw new FlotillaError('LAUNCH_FAILED', `${host}: the runtime arrived damaged twice (${/^[0-9a-f]{64}$/.test(err.got) ? `sha256 ${err.got}` : err.got || 'no hash'}, expected sha256 ${rt.sha256}); check the room and the disk of the host's home, and try again`, { context: { host } });
      }
    }
  }
}

function putOnce(client: SshClient, host: string, rt: LocalRuntime, offer: PackFormat[], push: boolean, timeoutMs: number): Promise<RemoteRuntime> {
  const path = `${REMOTE_RUNTIMES}/${rt.sha256}/node`;
  return new Promise((resolve, reject) => {
    client.exec(`sh -c ${shq(SCRIPT)} flotilla-runtime ${rt.sha256} ${rt.size} ${shq(offer.join(' '))}${push ? ' push' : ''}`, (err, ch) => {
      if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${host}: cannot check the runtime there: ${err.message}`, { cause: err }));
      let out = '', errText = '', format: PackFormat | undefined, sentBytes = 0, code: number | null = null;
      let failure: FlotillaError | undefined;
      let src: ReadStream | undefined;
      let closed = false;
      const fail = (why: string, cause?: unknown) => {
        failure ??= new FlotillaError('LAUNCH_FAILED', `${host}: ${why}`, { context: { host }, cause });
        ch.close();
      };
      const send = (fmt: PackFormat) => {
        format = fmt;
        packed(rt, fmt).then((file) => {
          if (closed || code !== null || failure) return; // the host needed none of it (push), or gave up
          // 1 MB reads: fewer, larger writes into the channel (ssh2 cuts them into packets).
          src = createReadStream(file, { highWaterMark: 2 ** 20 });
          src.on('data', (c) => (sentBytes += c.length));
          src.on('error', (e) => fail(`cannot read ${file}: ${e.message}`, e));
          src.pipe(ch); // ends stdin when done: the host's unpacker sees EOF
        }, (e: Error) => fail(e.message, e));
      };
      if (push) send(offer[0]!);
      const timer = setTimeout(() => fail(`putting the runtime (${rt.origin}) in ~/${path} did not finish within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
      ch.on('error', () => {});
      ch.stderr.on('data', (d: Buffer) => (errText = (errText + d).slice(-2000)));
      ch.on('data', (d: Buffer) => {
        out += d;
        const m = /^send (zst|gz|raw)$/m.exec(out);
        if (m && !format) send(m[1] as PackFormat);
      });
      ch.on('exit', (c: number | null) => (code = c ?? -1));
      ch.on('close', () => {
        closed = true;
        clearTimeout(timer);
        src?.unpipe(ch);
        src?.destroy();
        if (failure) return reject(failure);
        const bad = /^bad ([\w-]*)$/m.exec(out)?.[1];
        if (bad !== undefined) return reject(new Damaged(bad, format ?? 'raw'));
        const version = /^version=(.*)$/m.exec(out)?.[1]?.trim() ?? '';
        if (code !== 0 || !/^(have|stored)$/m.test(out)) {
          return reject(new FlotillaError('LAUNCH_FAILED', `${host}: cannot put the runtime in ~/${path} (exit ${code}): ${errText.trim().slice(-300) || 'no message'}. The home folder must be writable with room for ${Math.ceil(rt.size / 2 ** 20)} MB`, { context: { host } }));
        }
        if (!/^v\d+\.\d+\.\d+$/.test(version)) {
          return reject(new FlotillaError('LAUNCH_FAILED', `${host}: the runtime (${rt.origin}) does not run there: ${version || 'no output'}${/GLIBC/.test(version) ? ` (it needs glibc >= ${rt.minGlibc})` : ''}`, { context: { host } }));
        }
        const uploaded = /^stored$/m.test(out);
        resolve({ path, uploaded, version, sentBytes, ...(uploaded ? { format } : {}) });
      });
    });
  });
}

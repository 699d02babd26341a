/**
 * Puts a runtime on a host once: `~/.cache/flotilla/runtime/<sha256>/node`. One exec channel
 * does it all with one round trip when the host has it: a POSIX script checks the file (by a
 * size+mtime stamp written when its sha256 was last verified, else by hashing it), and only
 * when it is missing or damaged takes the host's lock (a `mkdir`, so racing launches from any
 * number of controllers share one upload), asks for the bytes (gzip when the host has
 * `gunzip`), writes them under a temporary name, checks their sha256 and renames them into
 * place. It ends by running `node -v`, so a binary the host cannot run is refused here, with
 * the reason, not when the first agent starts.
 */
import { createReadStream } from 'node:fs';
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../contract/errors.js';
import { shq } from '../launchers/ssh/remote.js';
import type { LocalRuntime } from './obtain.js';

/** Where runtimes live on a host, relative to its home. */
export const REMOTE_RUNTIMES = '.cache/flotilla/runtime';

/** A lock older than this whose owner cannot be checked (another machine) is taken over. */
const STALE_LOCK_MIN = 30;

/** The host side; $1 is the sha256, $2 the size. Prints `have`, or `send gz|raw` then `stored`; then `version=`. */
const SCRIPT = `
set -u
sha=$1; size=$2
root="$HOME/${REMOTE_RUNTIMES}"; d="$root/$sha"; f="$d/node"; lock="$d.lock"
sum() { { sha256sum "$1" 2>/dev/null || shasum -a 256 "$1" 2>/dev/null || "$1" -e 'process.stdout.write(require("crypto").createHash("sha256").update(require("fs").readFileSync(process.argv[1])).digest("hex"))' "$1" 2>/dev/null; } | cut -c1-64; }
stamp() { stat -c '%s.%Y' "$1" 2>/dev/null; }
good() {
  [ -x "$f" ] || return 1
  s=$(stamp "$f")
  [ -n "$s" ] && [ "$(cat "$f.ok" 2>/dev/null)" = "$s" ] && return 0
  [ "$(sum "$f")" = "$sha" ] || return 1
  [ -z "$s" ] || printf '%s\\n' "$s" > "$f.ok"
}
finish() { printf 'version=%s\\n' "$("$f" -v 2>&1 | head -c 300)"; }
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
# Hashed as it arrives (no second pass over the file); the size check catches a short write.
if command -v gunzip >/dev/null 2>&1; then echo "send gz"; un="gunzip -c"; else echo "send raw"; un=cat; fi
got=$($un | tee "$tmp" | { sha256sum 2>/dev/null || shasum -a 256 2>/dev/null || cat >/dev/null; } | cut -c1-64)
chmod 755 "$tmp"
[ -n "$got" ] || got=$(sum "$tmp")
if [ "$got" != "$sha" ] || [ "$(wc -c < "$tmp" | tr -d ' ')" != "$size" ]; then rm -f "$tmp"; echo "bad $got"; exit 4; fi
mv -f "$tmp" "$f" && printf '%s\\n' "$(stamp "$f")" > "$f.ok"
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
}

/** Makes sure `rt` is on the host; sends it only when missing or damaged there. */
export function ensureRuntime(client: SshClient, host: string, rt: LocalRuntime, timeoutMs = 20 * 60_000): Promise<RemoteRuntime> {
  const path = `${REMOTE_RUNTIMES}/${rt.sha256}/node`;
  return new Promise((resolve, reject) => {
    client.exec(`sh -c ${shq(SCRIPT)} flotilla-runtime ${rt.sha256} ${rt.size}`, (err, ch) => {
      if (err) return reject(new FlotillaError('LAUNCH_FAILED', `${host}: cannot check the runtime there: ${err.message}`, { cause: err }));
      let out = '', errText = '', sent = false, sentBytes = 0, code: number | null = null;
      const fail = (why: string) => reject(new FlotillaError('LAUNCH_FAILED', `${host}: ${why}`, { context: { host } }));
      const timer = setTimeout(() => {
        ch.close();
        fail(`putting the runtime (${rt.origin}) in ~/${path} did not finish within ${Math.round(timeoutMs / 1000)} s`);
      }, timeoutMs);
      ch.on('error', () => {});
      ch.stderr.on('data', (d: Buffer) => (errText = (errText + d).slice(-2000)));
      ch.on('data', (d: Buffer) => {
        out += d;
        const m = /^send (gz|raw)$/m.exec(out);
        if (m && !sent) {
          sent = true;
          const src = createReadStream(m[1] === 'gz' ? rt.gz : rt.file);
          src.on('data', (c) => (sentBytes += c.length));
          src.on('error', (e) => {
            ch.close();
            fail(`cannot read ${m[1] === 'gz' ? rt.gz : rt.file}: ${e.message}`);
          });
          src.pipe(ch); // ends stdin when done: the host's gunzip/cat sees EOF
        }
      });
      ch.on('exit', (c: number | null) => (code = c));
      ch.on('close', () => {
        clearTimeout(timer);
        const bad = /^bad (\w*)$/m.exec(out)?.[1];
        if (bad !== undefined) return fail(`the runtime arrived damaged (sha256 ${bad || 'unknown'}, expected ${rt.sha256}); try again`);
        const version = /^version=(.*)$/m.exec(out)?.[1]?.trim() ?? '';
        if (code !== 0 || !/^(have|stored)$/m.test(out)) {
          return fail(`cannot put the runtime in ~/${path} (exit ${code}): ${errText.trim().slice(-300) || 'no message'}. The home folder must be writable with room for ${Math.ceil(rt.size / 2 ** 20)} MB`);
        }
        if (!/^v\d+\.\d+\.\d+$/.test(version)) {
          return fail(`the runtime (${rt.origin}) does not run there: ${version || 'no output'}${/GLIBC/.test(version) ? ` (it needs glibc >= ${rt.minGlibc})` : ''}`);
        }
        resolve({ path, uploaded: /^stored$/m.test(out), version, sentBytes });
      });
    });
  });
}

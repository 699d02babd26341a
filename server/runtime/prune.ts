/**
 * Cleaning a host's cache (`~/.cache/flotilla`): agent bundles (`agent-<hash>.mjs`) and
 * runtimes (`runtime/<sha256>/`) that no current agent uses. Kept: what the controller's agents
 * and connections use now (named by the caller), and whatever a running process of the user on
 * that host names in its command line (detached agents, relays, other controllers' agents).
 */
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../contract/errors.js';
import { run, shq } from '../launchers/ssh/remote.js';
import type { PruneResult } from '../../contract/agent-types.js';

export type { PruneResult };

/** Host side: $@ are the names to keep (`agent-<hash>.mjs`, `runtime/<sha256>`). */
const SCRIPT = `
cd "$HOME/.cache/flotilla" 2>/dev/null || exit 0
inuse=$(ps -u "$(id -u)" -o args= 2>/dev/null)
keep=" $* "
for e in agent-*.mjs runtime/*; do
  [ -e "$e" ] || continue
  case "$e" in *.lock|*.tmp) continue ;; esac
  case "$keep" in *" $e "*) echo "kept $e"; continue ;; esac
  case "$inuse" in *"flotilla/$e"*) echo "kept $e"; continue ;; esac
  kb=$(du -sk "$e" 2>/dev/null | cut -f1)
  rm -rf "$e" && echo "removed $e \${kb:-0}"
done
`;

/** Removes the bundles and runtimes in the host's cache not named in `keep` and not in use there. */
export async function pruneHost(client: SshClient, host: string, keep: string[]): Promise<PruneResult> {
  const r = await run(client, `sh -c ${shq(SCRIPT)} flotilla-prune ${keep.map(shq).join(' ')}`, 120_000);
  if (r.code !== 0) throw new FlotillaError('INTERNAL', `${host}: cleaning ~/.cache/flotilla failed (exit ${r.code}): ${r.stderr.trim().slice(-300)}`);
  const removed: PruneResult['removed'] = [];
  const kept: string[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^removed (\S+) (\d+)$/.exec(line);
    if (m) removed.push({ path: `.cache/flotilla/${m[1]}`, bytes: Number(m[2]) * 1024 });
    const k = /^kept (\S+)$/.exec(line);
    if (k) kept.push(`.cache/flotilla/${k[1]}`);
  }
  return { host, removed, kept };
}

/**
 * `flotilla cache prune --host H`: cleans a host's `~/.cache/flotilla` through a running
 * controller (which knows the host's login and which bundles and runtimes its agents use).
 */
import type { Command } from 'commander';
import type { CliConnection } from '../cli-client.js';

type WithConnection = (o: { url: string; tokenFile?: string }, fn: (c: CliConnection) => Promise<void>) => Promise<void>;

/** Adds the `cache` command group to `program`. */
export function addCacheCommands(program: Command, withConnection: WithConnection): void {
  program
    .command('cache')
    .description("agent bundles and Node runtimes in remote hosts' ~/.cache/flotilla")
    .command('prune')
    .description('remove from a host the bundles and runtimes no current agent uses')
    .requiredOption('--host <host>', "an SSH pool's host or a SLURM pool's login node (`via`), as the pool names it")
    .option('--url <url>', 'controller address', process.env.FLOTILLA_URL ?? 'http://127.0.0.1:7711')
    .option('--token-file <file>', 'file holding the token (default: ~/.flotilla/token)')
    .option('--json', 'print JSON')
    .action((o: { host: string; url: string; tokenFile?: string; json?: boolean }) =>
      withConnection(o, async ({ trpc }) => {
        const r = await trpc.cache.prune.mutate({ host: o.host });
        if (o.json) return console.log(JSON.stringify(r, null, 2));
        const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
        for (const x of r.removed) console.log(`removed ~/${x.path} (${mb(x.bytes)})`);
        for (const k of r.kept) console.log(`kept    ~/${k}`);
        console.log(`${r.host}: removed ${r.removed.length}, ${mb(r.removed.reduce((a, x) => a + x.bytes, 0))} freed; kept ${r.kept.length}`);
      }),
    );
}

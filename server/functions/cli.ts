/**
 * `flotilla functions list|show|remove`: the registry of a running controller, from the shell.
 */
import type { Command } from 'commander';
import type { CliConnection } from '../cli-client.js';
import type { FunctionInfo } from './registry.js';

type WithConnection = (o: { url: string; tokenFile?: string }, fn: (c: CliConnection) => Promise<void>) => Promise<void>;

/** Adds the `functions` command group to `program`. */
export function addFunctionCommands(program: Command, withConnection: WithConnection): void {
  const group = program.command('functions').description('functions registered by name (fl.functions.register), callable from any client');
  const sub = (name: string, description: string) =>
    group
      .command(name)
      .description(description)
      .option('--url <url>', 'controller address', process.env.FLOTILLA_URL ?? 'http://127.0.0.1:7711')
      .option('--token-file <file>', 'file holding the token (default: ~/.flotilla/token)')
      .option('--json', 'print JSON');

  sub('list', 'list every version of every registered function').action((o) =>
    withConnection(o, async ({ trpc }) => {
      const fns = await trpc.functions.list.query();
      if (o.json) return console.log(JSON.stringify(fns, null, 2));
      if (fns.length === 0) return console.log('no functions registered');
      for (const f of fns) console.log(line(f));
    }),
  );

  sub('show', 'show a registered function (its latest version, or VERSION)')
    .argument('<name>')
    .argument('[version]', 'a version, or 8 or more of its first hex digits')
    .action((name: string, version: string | undefined, o) =>
      withConnection(o, async ({ trpc }) => {
        const d = await trpc.functions.get.query({ name, version });
        if (o.json) return console.log(JSON.stringify(d, null, 2));
        console.log(`${d.name}  version ${d.version}${d.latest ? ' (latest)' : ''}`);
        console.log(`  kind ${d.kind}${d.file ? `  ${d.file}#${d.export}` : ''}, registered ${new Date(d.registeredAt).toISOString()}`);
        console.log(`  globals: ${d.globals.length ? d.globals.join(', ') : 'none'}${d.setup ? `; setup: ${d.setup}` : ''}${d.retryIf ? '; retryIf' : ''}`);
        if (d.src) console.log(`  source: ${d.src.length > 400 ? d.src.slice(0, 400) + '...' : d.src}`);
        console.log(`  versions (latest first):`);
        for (const v of d.versions) console.log(`    ${line(v)}`);
      }),
    );

  sub('remove', 'remove a registered function (every version, or only VERSION); running jobs are not affected')
    .argument('<name>')
    .argument('[version]', 'a version, or 8 or more of its first hex digits')
    .action((name: string, version: string | undefined, o) =>
      withConnection(o, async ({ trpc }) => {
        const r = await trpc.functions.remove.mutate({ name, version });
        if (o.json) return console.log(JSON.stringify(r, null, 2));
        console.log(`removed ${r.removed.length} version(s) of ${name}: ${r.removed.map((v) => v.slice(0, 12)).join(', ')}`);
      }),
    );
}

function line(f: FunctionInfo): string {
  const where = f.kind === 'module' ? `${f.file}#${f.export}` : 'inline';
  return `${f.name.padEnd(20)}  ${f.version.slice(0, 12)}  ${f.latest ? 'latest' : '      '}  ${new Date(f.registeredAt).toISOString()}  ${where}`;
}

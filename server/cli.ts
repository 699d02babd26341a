#!/usr/bin/env node
/**
 * `flotilla`: start a controller, and look at or act on what it runs.
 */
import { Command, InvalidArgumentError } from 'commander';
import { decodeValue } from '../contract/codec.js';
import { FlotillaError } from '../contract/errors.js';
import { Controller, VERSION } from './controller.js';
import type { ControllerOptions } from './controller.js';
import { loadControllerConfig } from './config-file.js';
import { cliConnect, describeCliError } from './cli-client.js';
import type { CliConnection } from './cli-client.js';
import { defaultStateDir } from './state.js';
import type { TlsMaterial } from './http/tls.js';
import { readFileSync } from 'node:fs';
import type { TaskResult } from './job.js';
import { jsonSafe } from './json-safe.js';
import { cancelFlow, collectFlow, flowStatus, listFlows } from './flows/cli.js';
import { addFunctionCommands } from './functions/cli.js';
import { addCacheCommands } from './runtime/cli.js';
import { usageLines } from './usage-lines.js';
import { dashboardCommand } from './dashboard/cli.js';

const program = new Command('flotilla').description('Run functions across machines: local agents, SSH hosts, SLURM.').version(VERSION);

function int(name: string, min: number) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
}

program
  .command('controller')
  .description('run a controller that several programs share through connect({ url, tokenFile })')
  .option('-c, --config <file>', 'controller options and pools (SSH, SLURM, local) from a .json, .mjs or .ts file; flags given here win')
  .option('-H, --host <address>', 'address to listen on', '127.0.0.1')
  .option('-p, --port <port>', 'port to listen on (0: any free one)', int('port', 0), 7711)
  .option('--state-dir <dir>', 'folder for the controller key and token', defaultStateDir())
  .option('--agents <n>', 'local agents to keep (default: one per core), without a config file', int('agents', 1))
  .option('--slots <n>', 'task slots per local agent, without a config file', int('slots', 1))
  .option('--idle-timeout <ms>', 'local agents exit after this long without a task, without a config file', int('idle-timeout', 1))
  .option('--no-token', 'accept clients without the bearer token (loopback only). Any user of this machine can then run code as you: only for a machine of your own')
  .option('--tls-cert <file>', 'serve clients over TLS with this certificate (PEM; with --tls-key)')
  .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
  .option('--tls <mode>', "'self-signed': serve TLS with a certificate made once in the state folder; clients pin the fingerprint printed")
  .option('--no-durable', 'keep jobs in memory only (by default they are kept in the state folder and survive a restart)')
  .action(async (o, cmd: Command) => {
    const controller = await Controller.start(await controllerOptions(o, cmd));
    process.stdout.write(`flotilla controller ${VERSION} listening on ${controller.url}\n`);
    process.stdout.write(controller.tokenFile ? `token file: ${controller.tokenFile}\n` : 'no token required (loopback only)\n');
    if (controller.fingerprint) process.stdout.write(`TLS certificate SHA-256 fingerprint: ${controller.fingerprint}\n`);
    for (const line of dialLines(controller)) process.stdout.write(`${line}\n`);
    process.stdout.write(`dashboard: ${controller.dashboardUrl}\n`);
    const pin = controller.fingerprint ? `, fingerprint: '${controller.fingerprint}'` : '';
    process.stdout.write(`connect with: connect({ url: '${controller.url}', tokenFile: '${controller.tokenFile ?? ''}'${pin} })\n`);
    let stopping = false;
    const stop = async (sig: string) => {
      if (stopping) process.exit(1); // a second Ctrl-C: leave now
      stopping = true;
      process.stdout.write(`${sig}: stopping agents and closing\n`);
      await controller.close();
      process.exit(0);
    };
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGTERM', () => void stop('SIGTERM'));
  });

/** The controller's `tls` option from --tls / --tls-cert / --tls-key. */
function tlsOption(o: { tls?: string; tlsCert?: string; tlsKey?: string }): TlsMaterial | 'self-signed' | undefined {
  if (o.tls !== undefined && o.tls !== 'self-signed') throw new InvalidArgumentError(`--tls takes 'self-signed' (or give --tls-cert and --tls-key), got ${o.tls}`);
  if (o.tls && (o.tlsCert || o.tlsKey)) throw new InvalidArgumentError('give either --tls self-signed or --tls-cert with --tls-key, not both');
  if (o.tls) return 'self-signed';
  if (!o.tlsCert !== !o.tlsKey) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  if (!o.tlsCert) return undefined;
  const read = (flag: string, file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (err) {
      throw new InvalidArgumentError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  return { cert: read('--tls-cert', o.tlsCert), key: read('--tls-key', o.tlsKey!) };
}

/** The controller's options: the config file's, with the flags given on the command line over them. */
async function controllerOptions(o: Record<string, unknown>, cmd: Command): Promise<ControllerOptions> {
  const given = (k: string) => cmd.getOptionValueSource(k) === 'cli' || cmd.getOptionValueSource(k) === 'env';
  const file = o.config ? await loadControllerConfig(o.config as string) : {};
  const localFlags = ['agents', 'slots', 'idleTimeout'].filter(given);
  if (file.pools && localFlags.length > 0) {
    throw new FlotillaError('BAD_INPUT', `--${localFlags.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')} set up the default local pool; the config file names its pools, so set them there`);
  }
  const pick = <T>(flag: string, fileValue: T | undefined, flagValue: T): T => (given(flag) || fileValue === undefined ? flagValue : fileValue);
  return {
    ...file,
    host: pick('host', file.host, o.host as string),
    port: pick('port', file.port, o.port as number),
    stateDir: pick('stateDir', file.stateDir, o.stateDir as string),
    requireToken: pick('token', file.requireToken, o.token as boolean),
    durable: pick('durable', file.durable, o.durable as boolean),
    tls: tlsOption(o) ?? file.tls,
    pools: file.pools ?? { local: { launcher: 'local', agents: o.agents as number | undefined, slots: (o.slots as number | undefined) ?? 1, idleTimeoutMs: o.idleTimeout as number | undefined } },
  };
}

/** Where agents dial, as it is: local ones the Unix socket, others (SSH, SLURM) the URL. */
function dialLines(c: Controller): string[] {
  const kinds = new Set([...c.pools.values()].map((p) => p.status().launcher));
  const lines: string[] = [];
  if (kinds.has('local')) lines.push(`local agents dial: ${c.localAgentUrl}`);
  if (kinds.has('ssh') || kinds.has('slurm')) lines.push(`remote agents dial: ${c.agentUrl} (or through a tunnel or relay to it)`);
  return lines;
}

/** Adds the connection options and runs `fn` with a connection, closing it after. */
function clientCommand(name: string, description: string, parent: Command = program) {
  return parent
    .command(name)
    .description(description)
    .option('--url <url>', 'controller address', process.env.FLOTILLA_URL || 'http://127.0.0.1:7711')
    .option('--token-file <file>', 'file holding the token (default: ~/.flotilla/token)')
    .option('--fingerprint <sha256>', 'pin the certificate of an https:// controller (default: $FLOTILLA_FINGERPRINT)')
    .option('--json', 'print JSON');
}

async function withConnection(o: { url: string; tokenFile?: string; fingerprint?: string }, fn: (c: CliConnection) => Promise<void>): Promise<void> {
  const c = await cliConnect(o);
  try {
    await Promise.race([fn(c), c.lost]);
  } finally {
    await c.close();
  }
}

const print = (o: { json?: boolean }, value: unknown, human: () => void) => (o.json ? console.log(JSON.stringify(value, null, 2)) : human());

clientCommand('status', 'show one job').argument('<jobId>').action((jobId: string, o) =>
  withConnection(o, async ({ trpc }) => {
    const s = await trpc.jobs.status.query({ jobId });
    print(o, s, () => {
      console.log(`${s.id}  ${s.state}  pool ${s.pool}  ${s.done}/${s.total} done, ${s.failed} failed, ${s.running} running, ${s.queued} queued`);
      if (s.waiting) console.log(`  waiting: ${s.waiting}`);
      for (const line of usageLines(s)) console.log(line);
    });
  }),
);

clientCommand('jobs', 'list jobs').action((o) =>
  withConnection(o, async ({ trpc }) => {
    const jobs = await trpc.jobs.list.query();
    print(o, jobs, () => {
      if (jobs.length === 0) console.log('no jobs');
      for (const s of jobs) console.log(`${s.id}  ${s.state.padEnd(9)}  ${String(s.done).padStart(7)}/${s.total}  failed ${s.failed}  pool ${s.pool}`);
    });
  }),
);

clientCommand('agents', 'list pools and connected agents').action((o) =>
  withConnection(o, async ({ trpc }) => {
    const a = await trpc.agents.list.query();
    print(o, a, () => {
      for (const p of a.pools) console.log(`pool ${p.name} (${p.launcher}): ${p.running}/${p.max} agents (min ${p.min}, ${p.starting} starting, ${p.retiring} retiring)${p.failure ? `  FAILED: ${p.failure}` : ''}`);
      for (const l of a.lanes) console.log(`  ${l.agentId} lane ${l.lane}  ${l.host} pid ${l.pid}  node ${l.node}${l.runtime ? ` (${l.runtime.source})` : ''}  in flight ${l.inFlight}  done ${l.completed}`);
    });
  }),
);

clientCommand('cancel', 'cancel a job, or one task of it')
  .argument('<jobId>')
  .option('--task <index>', 'cancel only this task', int('task', 0))
  .action((jobId: string, o) =>
    withConnection(o, async ({ trpc }) => {
      const r = await trpc.jobs.cancel.mutate({ jobId, index: o.task });
      print(o, r, () => console.log(`cancelled ${r.cancelled} task(s)`));
    }),
  );

clientCommand('collect', "print a job's results in input order as JSON lines, once it is done")
  .argument('<jobId>')
  .action((jobId: string, o) =>
    withConnection(o, async ({ trpc }) => {
      const results: TaskResult[] = [];
      await new Promise<void>((resolve, reject) => {
        const sub = trpc.jobs.results.subscribe(
          { jobId },
          {
            onData: (ev) => {
              for (const r of ev.data.results) results.push(r);
              if (ev.data.seq >= ev.data.total) {
                sub.unsubscribe();
                resolve();
              }
            },
            onError: reject,
            onComplete: resolve,
          },
        );
      });
      results.sort((a, b) => a.index - b.index);
      for (const r of results) {
        const where = { attempt: r.attempt, agentId: r.agentId, host: r.host };
        console.log(JSON.stringify(r.ok ? { index: r.index, ok: true, value: decodeValue(r.value), ...where } : r, jsonSafe));
      }
      // Like `await job`: a job with failed tasks is a failure for scripts too.
      const failed = results.filter((r) => !r.ok).length;
      if (failed > 0) {
        console.error(`flotilla: ${failed} of ${results.length} task(s) of ${jobId} failed`);
        process.exitCode = 1;
      }
    }),
  );

clientCommand('logs', 'show recent agent log lines')
  .argument('[agentId]')
  .action((agentId: string | undefined, o) =>
    withConnection(o, async ({ trpc }) => {
      const lines = await trpc.agents.logs.query({ agentId });
      print(o, lines, () => lines.forEach((l) => console.log(`${new Date(l.at).toISOString()} ${l.agentId}: ${l.line}`)));
    }),
  );

clientCommand('flows', 'list flows').action((o) => withConnection(o, ({ trpc }) => listFlows(trpc, !!o.json)));
const flowCommand = program.command('flow').description('look at or act on one flow');
clientCommand('status', "show a flow's progress per stage", flowCommand).argument('<flowId>').action((id: string, o) => withConnection(o, ({ trpc }) => flowStatus(trpc, id, !!o.json)));
clientCommand('collect', "print a flow's rows in grid order as JSON lines, once it is done", flowCommand).argument('<flowId>').action((id: string, o) => withConnection(o, ({ trpc }) => collectFlow(trpc, id)));
clientCommand('cancel', 'cancel a flow', flowCommand).argument('<flowId>').action((id: string, o) => withConnection(o, ({ trpc }) => cancelFlow(trpc, id, !!o.json)));
addFunctionCommands(program, withConnection);
addCacheCommands(program, withConnection);
dashboardCommand(clientCommand('dashboard', 'print the live dashboard\'s URL (it carries the token once), or open it in a browser'));

program.parseAsync().catch((err) => {
  console.error(`flotilla: ${describeCliError(err)}`);
  process.exit(1);
});

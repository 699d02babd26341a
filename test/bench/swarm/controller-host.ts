/**
 * The controller under test for the agent swarm, in its own process: a controller with a `swarm`
 * pool that launches nothing (the swarm's connections are its agents), issuing their
 * credentials, and running maps on them through an in-process session. Driven over IPC:
 *   { t: 'issue', n }           -> { t: 'issued', url, creds }
 *   { t: 'measure' }            -> { t: 'measured', rssBytes, heapUsed, cpuUs, cpuEndUs, lanes }  (memory after a GC; CPU before and after measuring)
 *   { t: 'map', tasks }         -> { t: 'mapped', seconds }
 *   { t: 'profile', file? }     -> { t: 'profiling' }: starts a CPU profile; with `file`, writes it there
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller } from '../../../server/controller.js';
import { Session } from '../../../client/session.js';
import { localClient, localHotPath } from '../../../client/embedded.js';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { Session as Inspector } from 'node:inspector/promises';

const ctl = await Controller.start({
  port: 0,
  stateDir: mkdtempSync(join(tmpdir(), 'flotilla-swarm-')),
  durable: false,
  // A pool has at least one agent to launch; this one's never dials (see no-agent.sh).
  pools: { swarm: { launcher: 'local', min: 0, max: 1, node: fileURLToPath(new URL('./no-agent.sh', import.meta.url)) } },
  log: () => {},
});
const fl = new Session(localClient(ctl), localHotPath(ctl), ctl, () => ctl.close());
const send = (m: unknown) => process.send!(m);
let inspector: Inspector | undefined;

process.on('message', async (m: { t: string; n?: number; tasks?: number; file?: string }) => {
  try {
    if (m.t === 'issue') {
      const creds = Array.from({ length: m.n! }, () => ctl.registry.issue('swarm', ctl.agentUrl, { slots: 1 }));
      send({ t: 'issued', url: ctl.agentUrl, creds });
    } else if (m.t === 'measure') {
      // CPU read before this measurement's own work (a full GC, listing every lane) and after
      // it: windows between two measurements count neither.
      const cpu = process.cpuUsage();
      globalThis.gc?.();
      const rssBytes = process.memoryUsage.rss(), heapUsed = process.memoryUsage().heapUsed;
      const lanes = (await fl.agents()).lanes.length;
      const end = process.cpuUsage();
      send({ t: 'measured', rssBytes, heapUsed, cpuUs: cpu.user + cpu.system, cpuEndUs: end.user + end.system, lanes });
    } else if (m.t === 'map') {
      const items = Array.from({ length: m.tasks! }, (_, i) => i);
      const t0 = performance.now();
      const out = await fl.map(items, (x: number) => x, { pool: 'swarm' });
      const seconds = (performance.now() - t0) / 1e3;
      if (out.length !== m.tasks || out[m.tasks! - 1] !== m.tasks! - 1) throw new Error('the swarm map returned wrong values');
      send({ t: 'mapped', seconds });
    } else if (m.t === 'profile') {
      if (!inspector) {
        inspector = new Inspector();
        inspector.connect();
        await inspector.post('Profiler.enable');
        await inspector.post('Profiler.start');
      } else {
        const { profile } = await inspector.post('Profiler.stop');
        writeFileSync(m.file!, JSON.stringify(profile));
        inspector.disconnect();
        inspector = undefined;
      }
      send({ t: 'profiling' });
    } else if (m.t === 'close') {
      await fl.close();
      process.exit(0);
    }
  } catch (err) {
    send({ t: 'error', message: (err as Error).stack ?? String(err) });
  }
});
process.on('disconnect', () => process.exit(0));
send({ t: 'started' });

/** The dashboard's panels: jobs, flows, pools and agents, failures, launches, logs. */
import { html } from 'htm/preact';
import type { AgentView, FailureView, JobView, LaunchView, LogView } from '../server/dashboard/view.js';
import type { PoolStatus } from '../contract/agent-types.js';
import type { FlowStatus } from '../contract/flow-types.js';
import { bytes, clock, count, jobColour, rate, seconds } from './format.js';

function Bar(props: { total: number; parts: Array<[number, string]> }) {
  const t = Math.max(1, props.total);
  return html`<div class="bar">${props.parts.map(([n, cls]) => html`<span class=${cls} style=${`width:${(100 * n) / t}%`}></span>`)}</div>`;
}

export function Jobs(props: { jobs: JobView[] }) {
  if (props.jobs.length === 0) return html`<p class="muted">no jobs yet</p>`;
  const jobs = [...props.jobs].sort((a, b) => b.createdAt - a.createdAt);
  return html`<table id="jobs">
    <thead><tr><th>job</th><th>pool</th><th>state</th><th>progress</th><th>done</th><th>running</th><th>queued</th><th>failed</th><th>rate</th><th>ETA</th><th>used</th></tr></thead>
    <tbody>${jobs.map((j) => html`<tr data-job=${j.id} class=${j.state}>
      <td><span class="swatch" style=${`background:${jobColour(j.id)}`}></span>${j.id}${j.flow ? html` <small>(flow ${j.flow})</small>` : ''}</td>
      <td>${j.pool}</td><td class="state">${j.state}${j.waiting ? html`<div class="muted small">${j.waiting}</div>` : ''}</td>
      <td><${Bar} total=${j.total} parts=${[[j.done - j.failed, 'ok'], [j.failed, 'failed'], [j.running, 'running']]} /></td>
      <td class="done">${count(j.done - j.failed)}/${count(j.total)}</td><td class="running">${count(j.running)}</td><td class="queued">${count(j.queued)}</td>
      <td class="failed">${count(j.failed)}</td><td class="rate">${rate(j.rate)}</td><td class="eta">${j.state === 'running' ? seconds(j.etaSec) : '–'}</td>
      <td class="usage small">${usage(j)}</td>
    </tr>`)}</tbody></table>`;
}

function usage(j: JobView) {
  const u = j.usage;
  if (!u || u.tasks === 0) return '–';
  return html`<div>duration p50 ${seconds(u.durationMs.p50 / 1000)}, p99 ${seconds(u.durationMs.p99 / 1000)}${u.peakRssBytes ? `, peak memory ${bytes(u.peakRssBytes.max)}` : ''}</div>
    ${j.fit ? html`<div class="fit">${j.fit.lines.map((l) => html`<div>${l}</div>`)}</div>` : ''}`;
}

export function Flows(props: { flows: FlowStatus[] }) {
  if (props.flows.length === 0) return html`<p class="muted">no flows running</p>`;
  return html`<div id="flows">${props.flows.map((f) => html`<div class="flow" data-flow=${f.id}>
    <div><b>${f.name ?? f.id}</b> ${f.state}: ${count(f.rowsFinished)}/${count(f.rows)} rows${f.rowsFailed ? `, ${count(f.rowsFailed)} failed` : ''}</div>
    <table><tbody>${f.stages.map((s) => html`<tr><td>${s.name}</td><td><${Bar} total=${f.rows} parts=${[[s.done, 'ok'], [s.failed + s.skipped, 'failed'], [s.running, 'running']]} /></td>
      <td class="small">${count(s.done)} done${s.cached ? ` (${count(s.cached)} cached)` : ''}, ${count(s.running)} running, ${count(s.queued)} queued, ${count(s.failed)} failed, ${count(s.skipped)} skipped</td></tr>`)}</tbody></table>
  </div>`)}</div>`;
}

export function Pools(props: { pools: PoolStatus[]; agents: AgentView[]; at: number }) {
  return html`<div id="pools">${props.pools.map((p) => {
    const agents = props.agents.filter((a) => a.pool === p.name).sort((a, b) => a.launchedAt - b.launchedAt);
    return html`<div class="pool" data-pool=${p.name}>
      <div><b>${p.name}</b> (${p.launcher}): ${p.running} running, ${p.starting} starting, ${p.retiring} retiring; min ${p.min}, max ${p.max}${p.failure ? html` <span class="error">FAILED: ${p.failure}</span>` : ''}</div>
      <div class="agents-wrap"><table class="agents"><thead><tr><th>agent</th><th>state</th><th>host</th><th>pid / batch job</th><th>slots busy</th><th>CPU</th><th>memory</th><th>runtime</th><th>tasks</th></tr></thead>
      <tbody>${agents.map((a) => html`<tr data-agent=${a.id} class=${a.state}>
        <td>${a.id}</td><td class="state">${a.state}</td><td>${a.host ?? '–'}</td><td>${a.batchJob ?? a.pid ?? '–'}</td>
        <td>${a.busy}/${a.slots.length}</td><td>${a.cpu === undefined ? '–' : `${Math.round(a.cpu * 100)}%`}</td><td>${bytes(a.rssBytes)}</td>
        <td>${seconds(((a.exitedAt ?? props.at) - a.launchedAt) / 1000)}</td><td>${count(a.completed)}</td>
      </tr>`)}</tbody></table></div></div>`;
  })}</div>`;
}

export function Failures(props: { failures: FailureView[] }) {
  if (props.failures.length === 0) return html`<p class="muted">no failures</p>`;
  return html`<div id="failures">${[...props.failures].reverse().map((f) => {
    const c = f.error.context ?? {};
    const where = [c.agentId && `agent ${c.agentId}`, c.host && `on ${c.host}`, c.pid !== undefined && `pid ${c.pid}`, c.durationMs !== undefined && `after ${seconds(c.durationMs / 1000)}`].filter(Boolean).join(', ');
    return html`<details class="failure" data-job=${f.job} data-index=${f.index}>
      <summary><span class="muted">${clock(f.at)}</span> ${f.job} task ${f.index} (attempt ${f.attempt}): <b>${f.error.code}</b> ${f.error.name ? `${f.error.name}: ` : ''}${f.error.message}</summary>
      ${where ? html`<div class="small">${where}</div>` : ''}
      ${f.error.stack ? html`<pre class="stack">${f.error.stack}</pre>` : ''}
      ${c.stderrTail ? html`<pre class="stderr">${c.stderrTail}</pre>` : ''}
    </details>`;
  })}</div>`;
}

export function Launches(props: { launches: LaunchView[] }) {
  if (props.launches.length === 0) return html`<p class="muted">no launches since this page opened</p>`;
  return html`<ul id="launches">${[...props.launches].reverse().map((l) => html`<li class=${`${l.kind}${l.bad ? ' bad' : ''}`} data-agent=${l.agentId ?? ''}>
    <span class="muted">${clock(l.at)}</span> ${l.pool}: ${l.text}${l.stderrTail ? html`<pre class="stderr">${l.stderrTail}</pre>` : ''}</li>`)}</ul>`;
}

export function Logs(props: { logs: LogView[] }) {
  if (props.logs.length === 0) return html`<p class="muted">no agent log lines since this page opened</p>`;
  return html`<pre id="logs">${props.logs.slice(-200).map((l) => `${clock(l.at)} ${l.agentId}: ${l.line}\n`)}</pre>`;
}

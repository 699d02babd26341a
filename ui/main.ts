/**
 * The dashboard page: one WebSocket to the controller (its cookie authenticates it; no token in
 * any URL), frames merged into the page's state, rendered at most once per animation frame.
 * When the socket drops, it reconnects, with a growing delay; the controller resends everything.
 */
import { html, render } from 'htm/preact';
import type { Frame } from '../server/dashboard/view.js';
import { emptyState, merge } from './state.js';
import type { State } from './state.js';
import { TaskStream } from './task-stream.js';
import { Failures, Flows, Jobs, Launches, Logs, Pools } from './views.js';

let state: State = emptyState();
let connected = false;
let pending = false;
let retryMs = 500;
const root = document.getElementById('app')!;
// The static placeholder goes: Preact renders into an empty element.
root.textContent = '';

function App() {
  const s = state;
  return html`<header><h1>flotilla</h1><span id="connection" class=${connected ? 'on' : 'off'}>${connected ? 'live' : 'reconnecting…'}</span></header>
    <section><h2>Jobs</h2><${Jobs} jobs=${s.jobs} /></section>
    <section><h2>Task stream</h2><${TaskStream} spans=${s.spans} agents=${s.agents} at=${s.at} />
      ${s.spansDropped > 0 ? html`<p class="muted small">showing the newest tasks; ${s.spansDropped.toLocaleString('en-US')} more finished in bursts between frames</p>` : ''}</section>
    <section><h2>Flows</h2><${Flows} flows=${s.flows} /></section>
    <section><h2>Pools and agents</h2><${Pools} pools=${s.pools} agents=${s.agents} at=${s.at} /></section>
    <section><h2>Failures</h2><${Failures} failures=${s.failures} /></section>
    <div class="columns">
      <section><h2>Launch history</h2><${Launches} launches=${s.launches} /></section>
      <section><h2>Agent logs</h2><${Logs} logs=${s.logs} /></section>
    </div>`;
}

function paint(): void {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    render(html`<${App} />`, root);
  });
}

function connect(): void {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/dashboard/ws`);
  ws.onopen = () => {
    connected = true;
    retryMs = 500;
    paint();
  };
  ws.onmessage = (m) => {
    state = merge(state, JSON.parse(String(m.data)) as Frame);
    paint();
  };
  ws.onclose = () => {
    connected = false;
    paint();
    setTimeout(connect, retryMs);
    retryMs = Math.min(5000, retryMs * 2);
  };
}

paint();
connect();

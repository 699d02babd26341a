/**
 * The task stream, as in Dask: one row per task slot, each finished task a bar from its start to
 * its end, coloured by job (failed ones red). Drawn on a canvas from the bounded window of spans
 * the controller sends, so its cost does not depend on the job's size.
 */
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import type { AgentView, Span } from '../server/dashboard/view.js';
import { jobColour } from './format.js';

/** The stream shows this much of the recent past. */
const SPAN_MS = 30_000;
const LABEL_PX = 110;
const MAX_PLOT_PX = 360;

export function TaskStream(props: { spans: Span[]; agents: AgentView[]; at: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const slots = slotRows(props.agents, props.spans);
  // Rows shrink (to a fraction of a pixel) so that thousands of slots stay one screen tall.
  const rowPx = Math.min(14, MAX_PLOT_PX / Math.max(1, slots.length));
  const height = Math.max(60, Math.ceil(slots.length * rowPx) + 20);
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const width = c.clientWidth || 800;
    const ratio = window.devicePixelRatio || 1;
    c.width = width * ratio;
    c.height = height * ratio;
    const g = c.getContext('2d');
    if (!g) return;
    g.scale(ratio, ratio);
    draw(g, width, height, rowPx, slots, props.spans, props.at);
  });
  return html`<canvas id="task-stream" ref=${canvas} style=${`height:${height}px`} data-spans=${props.spans.length}></canvas>`;
}

/** Slots in a stable order: by agent, then lane; slots only seen in spans after those of live agents. */
function slotRows(agents: AgentView[], spans: Span[]): string[] {
  const rows: string[] = [];
  const seen = new Set<string>();
  for (const a of [...agents].sort((x, y) => x.id.localeCompare(y.id))) {
    for (const lane of a.slots) {
      const k = `${a.id}/${lane}`;
      seen.add(k);
      rows.push(k);
    }
  }
  const gone = new Set<string>();
  for (const s of spans) if (!seen.has(s[1])) gone.add(s[1]);
  return rows.concat([...gone].sort());
}

function draw(g: CanvasRenderingContext2D, width: number, height: number, rowPx: number, slots: string[], spans: Span[], now: number): void {
  g.clearRect(0, 0, width, height);
  const plot = width - LABEL_PX;
  const from = (now || Date.now()) - SPAN_MS;
  const x = (t: number) => LABEL_PX + Math.max(0, ((t - from) / SPAN_MS) * plot);
  const row = new Map(slots.map((s, i) => [s, i]));
  g.font = '10px ui-monospace, monospace';
  g.fillStyle = '#888';
  if (rowPx >= 10) slots.forEach((s, i) => g.fillText(s.length > 17 ? `…${s.slice(-16)}` : s, 2, i * rowPx + rowPx - 3));
  g.strokeStyle = '#ddd';
  for (let sec = 0; sec <= SPAN_MS / 1000; sec += 5) {
    const px = LABEL_PX + (sec * 1000 * plot) / SPAN_MS;
    g.beginPath();
    g.moveTo(px, 0);
    g.lineTo(px, height - 14);
    g.stroke();
    g.fillText(sec === SPAN_MS / 1000 ? 'now' : `-${SPAN_MS / 1000 - sec}s`, px - 12, height - 3);
  }
  for (const [job, slot, start, end, ok] of spans) {
    if (end < from) continue;
    const r = row.get(slot);
    if (r === undefined) continue;
    const x0 = x(start);
    g.fillStyle = ok ? jobColour(job) : '#d22';
    g.fillRect(x0, r * rowPx + (rowPx > 4 ? 1 : 0), Math.max(1, x(end) - x0 - 0.5), Math.max(rowPx - (rowPx > 4 ? 2 : 0), 0.5));
  }
}

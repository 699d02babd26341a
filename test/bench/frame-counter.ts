/**
 * Counts the controller's frames during one diagnostic run, by wrapping two prototype methods
 * for its duration: how many tasks each `run` frame carried and how many results each `res`
 * frame brought back. Per-frame cost (sealing, a socket write, a wake-up) is what batching buys
 * off, so tasks per frame explains a throughput figure. Never active during timed runs.
 */

export interface FrameStats {
  runFrames: number;
  tasksSent: number;
  resFrames: number;
  resultsReceived: number;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
}

type Proto = Record<string, (...a: any[]) => any>;

/** `base` is the URL of the tree whose modules the controller runs (sources or dist/). */
export async function countFrames(base: URL): Promise<{ stop(): FrameStats }> {
  const channelMod = await import(new URL('agent/protocol/channel.js', base).href);
  const schedMod = await import(new URL('server/scheduler.js', base).href);
  const ch = channelMod.SecureChannel.prototype as Proto;
  const sch = schedMod.Scheduler.prototype as Proto;
  const orig = { send: ch.send!, receive: ch.receive!, onMessage: sch.onMessage! };
  const s: FrameStats = { runFrames: 0, tasksSent: 0, resFrames: 0, resultsReceived: 0, framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };
  const wrapped = new Map<{ send: (...a: any[]) => any }, ((...a: any[]) => any) | undefined>();
  ch.send = function (this: any, msg: { t: string; tasks?: unknown[] }, bins?: Uint8Array[]) {
    if (msg.t === 'run') {
      s.runFrames++;
      s.tasksSent += msg.tasks?.length ?? 0;
    }
    // Count sealed bytes by wrapping this socket's send once.
    if (!wrapped.has(this.ws)) {
      const ws = this.ws;
      const own = Object.prototype.hasOwnProperty.call(ws, 'send') ? ws.send : undefined;
      wrapped.set(ws, own);
      const inner = ws.send.bind(ws);
      ws.send = (data: Uint8Array, ...rest: unknown[]) => {
        s.framesOut++;
        s.bytesOut += data.byteLength;
        return inner(data, ...rest);
      };
    }
    return orig.send.call(this, msg, bins);
  };
  ch.receive = function (this: unknown, data: Uint8Array, isBinary: boolean) {
    s.framesIn++;
    s.bytesIn += data.byteLength ?? 0;
    return orig.receive.call(this, data, isBinary);
  };
  sch.onMessage = function (this: unknown, lane: unknown, msg: { t: string; r?: unknown[] }, bins: unknown) {
    if (msg.t === 'res') {
      s.resFrames++;
      s.resultsReceived += msg.r?.length ?? 0;
    }
    return orig.onMessage.call(this, lane, msg, bins);
  };
  return {
    stop() {
      Object.assign(ch, { send: orig.send, receive: orig.receive });
      sch.onMessage = orig.onMessage;
      for (const [ws, own] of wrapped) {
        if (own) ws.send = own;
        else delete (ws as { send?: unknown }).send;
      }
      return s;
    },
  };
}

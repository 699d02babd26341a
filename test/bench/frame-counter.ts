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
  const reportsMod = await import(new URL('server/lane-reports.js', base).href);
  const ch = channelMod.SecureChannel.prototype as Proto;
  const rep = reportsMod.LaneReports.prototype as Proto;
  const orig = { send: ch.send!, receive: ch.receive!, handle: rep.handle! };
  const s: FrameStats = { runFrames: 0, tasksSent: 0, resFrames: 0, resultsReceived: 0, framesIn: 0, bytesIn: 0, framesOut: 0, bytesOut: 0 };
  // A sealed frame goes out through ws.send or straight to the socket (agent/protocol/ws-write.ts):
  // its bytes are counted at the socket's write, once per socket, WebSocket headers included.
  const wrapped = new Map<{ write: (...a: any[]) => any }, ((...a: any[]) => any) | undefined>();
  ch.send = function (this: any, msg: { t: string; tasks?: unknown[] }, bins?: Uint8Array[]) {
    s.framesOut++;
    if (msg.t === 'run') {
      s.runFrames++;
      s.tasksSent += msg.tasks?.length ?? 0;
    }
    const socket = this.ws?._socket;
    if (socket && !wrapped.has(socket)) {
      const own = Object.prototype.hasOwnProperty.call(socket, 'write') ? socket.write : undefined;
      wrapped.set(socket, own);
      const inner = socket.write.bind(socket);
      socket.write = (data: Uint8Array, ...rest: unknown[]) => {
        s.bytesOut += data.byteLength ?? 0;
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
  rep.handle = function (this: unknown, lane: unknown, msg: { t: string; r?: unknown[] }, bins: unknown) {
    if (msg.t === 'res') {
      s.resFrames++;
      s.resultsReceived += msg.r?.length ?? 0;
    }
    return orig.handle.call(this, lane, msg, bins);
  };
  return {
    stop() {
      Object.assign(ch, { send: orig.send, receive: orig.receive });
      rep.handle = orig.handle;
      for (const [socket, own] of wrapped) {
        if (own) socket.write = own;
        else delete (socket as { write?: unknown }).write;
      }
      return s;
    },
  };
}

/**
 * A link of a given bandwidth, for the runtime benchmark: a TCP relay on 127.0.0.1 that forwards
 * each connection to a target, each direction paced to `mbit` megabits per second (a serialized
 * link: a chunk of n bytes holds it for n / rate; reading stops until then). A process of its
 * own, so its pacing costs the measured processes nothing. Prints `listening <port>`, ends with
 * its stdin.
 *
 *   node test/bench/slow-link.mjs <target-host> <target-port> <mbit>
 */
import { createServer, connect } from 'node:net';

const [host, port, mbit] = process.argv.slice(2);
const bytesPerMs = (Number(mbit) * 1e6) / 8 / 1000;
if (!host || !Number(port) || !(bytesPerMs > 0)) throw new Error('usage: slow-link.mjs <target-host> <target-port> <mbit>');

/** Copies `from` into `to`, no faster than the rate. */
function pace(from, to) {
  let free = 0; // when the link is next idle (performance.now() ms)
  from.on('data', (chunk) => {
    const now = performance.now();
    free = Math.max(free, now) + chunk.length / bytesPerMs;
    to.write(chunk);
    if (free - now > 1) {
      from.pause();
      setTimeout(() => from.resume(), free - now);
    }
  });
  from.on('end', () => to.end());
}

const server = createServer({ noDelay: true }, (a) => {
  const b = connect({ host, port: Number(port), noDelay: true });
  for (const s of [a, b]) s.on('error', () => (a.destroy(), b.destroy()));
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
  pace(a, b);
  pace(b, a);
});
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));

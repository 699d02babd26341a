#!/usr/bin/env node
/**
 * One process of artificial machine load, for tests and the CI-under-load mode:
 *
 *   node load-proc.mjs cpu          spins on one core
 *   node load-proc.mjs io DIR       writes and fsyncs a scratch file in DIR, over and over
 *
 * Plain JavaScript so it starts without a compiler. It ends when its stdin closes (the process
 * that started it is gone) or on SIGTERM, and removes its scratch file.
 */
import { closeSync, fsyncSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const [kind, dir] = process.argv.slice(2);
let stop = false;
process.stdin.on('end', () => (stop = true)).on('error', () => (stop = true)).resume();
process.on('SIGTERM', () => (stop = true));

/** Works in slices of ~50 ms so stdin and signals are seen between them. */
function loop(slice) {
  const t0 = Date.now();
  while (!stop && Date.now() - t0 < 50) slice();
  if (stop) return done();
  setImmediate(() => loop(slice));
}

let cleanup = () => {};
function done() {
  cleanup();
  process.exit(0);
}

if (kind === 'cpu') {
  let x = 0;
  loop(() => {
    for (let i = 0; i < 1e5; i++) x = (x * 1103515245 + 12345) % 2147483648;
  });
} else if (kind === 'io') {
  if (!dir) throw new Error('usage: load-proc.mjs io DIR');
  const file = join(dir, `flotilla-load-${process.pid}.tmp`);
  const fd = openSync(file, 'w+');
  cleanup = () => {
    closeSync(fd);
    rmSync(file, { force: true });
  };
  const chunk = Buffer.alloc(1 << 20, 0x5a);
  const back = Buffer.alloc(1 << 20);
  const SPAN = 64; // MB the file cycles through
  let at = 0;
  loop(() => {
    writeSync(fd, chunk, 0, chunk.length, (at % SPAN) * chunk.length);
    fsyncSync(fd); // the disk, not the page cache: what makes other processes wait on I/O
    readSync(fd, back, 0, back.length, ((at * 7) % SPAN) * back.length);
    at++;
  });
} else {
  console.error(`usage: load-proc.mjs cpu | io DIR (got ${kind})`);
  process.exit(2);
}

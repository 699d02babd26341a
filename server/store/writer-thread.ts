/**
 * The code of the durable store's writer thread (./result-writer.ts), as the source of an eval
 * worker: a few lines with no imports of the project's own, so the same text runs from the
 * TypeScript sources, from the bundled library and from a packed install, with no file of its
 * own to locate.
 *
 * It opens the job database (already created and migrated by the controller's connection) with
 * the same settings, and for each batch inserts its rows and a finished job's counts in one
 * transaction, then stores the batch's id in shared memory (waking a waiting caller) and posts
 * it to the event loop. An error is posted on its own port (readable by a waiting caller at
 * once) and ends the thread's work: no later batch is committed past a lost one.
 */
export const WRITER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { path, sqlite, state, errors } = workerData;
const shared = new Int32Array(state);
let write;
function failed(err) {
  errors.postMessage(String(err && err.message || err));
  Atomics.store(shared, 1, 1);
  Atomics.notify(shared, 0);
  write = undefined;
}
try {
  const Database = require(sqlite);
  const db = new Database(path, { fileMustExist: true, timeout: 10000 });
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 10000');
  db.pragma('journal_size_limit = 67108864');
  const insert = db.prepare('INSERT INTO results (job, seq, count, body) VALUES (?, ?, ?, ?)');
  const counts = db.prepare('UPDATE jobs SET done = ?, failed = ?, finished_at = ? WHERE id = ?');
  write = db.transaction((m) => {
    for (const r of m.rows) insert.run(r[0], r[1], r[2], Buffer.from(r[3].buffer, r[3].byteOffset, r[3].byteLength));
    for (const c of m.counts) counts.run(c[0], c[1], c[2], c[3]);
  });
} catch (err) {
  failed(err);
}
parentPort.on('message', (m) => {
  if (!write) return;
  try {
    write(m);
  } catch (err) {
    return failed(err);
  }
  Atomics.store(shared, 0, m.id);
  Atomics.notify(shared, 0);
  parentPort.postMessage(m.id);
});
`;

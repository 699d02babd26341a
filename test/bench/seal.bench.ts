/**
 * Which AEAD seals frames fastest here: Node's ChaCha20-Poly1305 and AES-256-GCM (OpenSSL) against
 * tweetnacl's XSalsa20-Poly1305 secretbox (pure JS). Prints MB/s and per-frame cost for a small
 * frame (one tiny task) and a large one (a batch or a big result).
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';

const key = randomBytes(32);
const nonce12 = Buffer.alloc(12);
const nonce24 = new Uint8Array(24);

function node(cipher: 'chacha20-poly1305' | 'aes-256-gcm') {
  return (p: Buffer) => {
    const c = createCipheriv(cipher as 'aes-256-gcm', key, nonce12, { authTagLength: 16 });
    const b = c.update(p);
    c.final();
    return Buffer.concat([b, c.getAuthTag()]);
  };
}
const candidates: Record<string, (p: Buffer) => Uint8Array> = {
  'chacha20-poly1305 (node)': node('chacha20-poly1305'),
  'aes-256-gcm (node)': node('aes-256-gcm'),
  'xsalsa20-poly1305 (tweetnacl)': (p) => nacl.secretbox(p, nonce24, key),
};

/** Seals frames of `size` bytes for about `budgetMs` (after a short warm-up); per-frame cost and MB/s. */
function measure(fn: (p: Buffer) => Uint8Array, size: number, budgetMs = 400): { perFrameUs: number; mbps: number } {
  const p = randomBytes(size);
  const warmEnd = performance.now() + budgetMs / 4;
  while (performance.now() < warmEnd) fn(p);
  let n = 0;
  const t0 = performance.now();
  const end = t0 + budgetMs;
  while (performance.now() < end) {
    for (let i = 0; i < 16; i++) fn(p);
    n += 16;
  }
  const s = (performance.now() - t0) / 1000;
  return { perFrameUs: (s / n) * 1e6, mbps: (size * n) / s / 1e6 };
}

export function runSealBench(): Record<string, Record<number, { perFrameUs: number; mbps: number }>> {
  const out: Record<string, Record<number, { perFrameUs: number; mbps: number }>> = {};
  for (const [name, fn] of Object.entries(candidates)) {
    out[name] = {};
    for (const size of [128, 64 * 1024, 1024 * 1024]) out[name][size] = measure(fn, size);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = runSealBench();
  for (const [name, bySize] of Object.entries(r)) {
    const cells = Object.entries(bySize).map(([s, v]) => `${s}B: ${v.perFrameUs.toFixed(2)} us/frame, ${v.mbps.toFixed(0)} MB/s`);
    console.log(name.padEnd(32), cells.join(' | '));
  }
}

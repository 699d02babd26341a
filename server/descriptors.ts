/**
 * File descriptors: how many this process may open, and how many it keeps out of reach of
 * sockets, so that thousands of idle connections cannot leave it unable to start an agent, open
 * its database or write a log.
 */
import { readFileSync } from 'node:fs';

/** Descriptors kept free of connections: agent processes (3 pipes each), database, logs. */
export const DESCRIPTOR_RESERVE = 256;

let cached: number | undefined;

/** The soft limit on open files (`ulimit -n`); Infinity where it cannot be read (not Linux). */
export function descriptorLimit(): number {
  if (cached !== undefined) return cached;
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    cached = !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    cached = Infinity;
  }
  return cached;
}

/**
 * Connections a server of this process may hold at once (`server.maxConnections`): the limit
 * less the reserve, shared by `share` servers. At least 16, so a tiny limit still serves.
 */
export function connectionCap(share = 1): number {
  const limit = descriptorLimit();
  if (!Number.isFinite(limit)) return Infinity;
  return Math.max(16, Math.floor((limit - DESCRIPTOR_RESERVE) / share));
}

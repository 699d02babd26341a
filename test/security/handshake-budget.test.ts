/**
 * The pending-handshake budget as a pure object: per-source shares, and fairness when full.
 */
import { describe, expect, it } from 'vitest';
import { HandshakeBudget } from '../../server/handshake-budget.js';

function pending() {
  const p = { terminated: false, terminate: () => void (p.terminated = true) };
  return p;
}

describe('handshake budget', () => {
  it('one address gets at most its share; a release gives the place back, once', () => {
    const b = new HandshakeBudget(10, 3);
    const mine = [pending(), pending(), pending()];
    for (const p of mine) expect(b.admit('10.0.0.1', p)).toBeUndefined();
    expect(b.admit('10.0.0.1', pending())).toMatch(/from 10.0.0.1/);
    expect(b.admit('10.0.0.2', pending())).toBeUndefined();
    b.release(mine[0]!);
    b.release(mine[0]!);
    expect(b.pending).toBe(3);
    expect(b.admit('10.0.0.1', pending())).toBeUndefined();
  });

  it('when full, a newcomer from a quieter address displaces the oldest handshake of the busiest; equals do not churn', () => {
    const b = new HandshakeBudget(4, 4);
    const busy = [pending(), pending(), pending(), pending()];
    for (const p of busy) b.admit('attacker', p);
    const newcomer = pending();
    expect(b.admit('agent', newcomer)).toBeUndefined();
    expect(busy[0]!.terminated).toBe(true);
    expect(busy.slice(1).some((p) => p.terminated)).toBe(false);
    expect(b.pending).toBe(4);
    // attacker 3, agent 1: the attacker may not displace anyone to get its place back.
    expect(b.admit('attacker', pending())).toBe('too many handshakes in progress');
    expect(newcomer.terminated).toBe(false);
  });
});

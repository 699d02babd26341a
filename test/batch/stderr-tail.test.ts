import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { StderrTail, TAIL_BYTES } from '../../server/launchers/stderr-tail.js';
import { LocalLauncher } from '../../server/launchers/local/launcher.js';

describe('StderrTail: the one reader of agents stderr', () => {
  it('a line split across chunks is handed on once, whole', () => {
    const lines: string[] = [];
    const t = new StderrTail((l) => lines.push(l));
    t.push('agent a1: 2 slo');
    t.push('t(s), dialing ws://x\nsecond ');
    t.push(Buffer.from('line\n'));
    expect(lines).toEqual(['agent a1: 2 slot(s), dialing ws://x', 'second line']);
  });

  it('hands on a last line without its newline at the end of the stream', () => {
    const lines: string[] = [];
    const t = new StderrTail((l) => lines.push(l));
    t.push('one\ntwo');
    expect(lines).toEqual(['one']);
    t.end();
    expect(lines).toEqual(['one', 'two']);
  });

  it('keeps only the last TAIL_BYTES for the reason, and bounds a line without newlines', () => {
    const lines: string[] = [];
    const t = new StderrTail((l) => lines.push(l));
    for (let i = 0; i < 100; i++) t.push('x'.repeat(1024));
    expect(t.tail.length).toBe(TAIL_BYTES);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.length <= 64 * 1024)).toBe(true);
  });
});

describe('local agents stderr', () => {
  it('a line the agent writes in two pieces reaches the log as one line (was two)', async () => {
    // A stand-in for node: writes half a line, waits so the pipe delivers it alone, then the rest.
    const dir = mkdtempSync(join(tmpdir(), 'flotilla-split-'));
    const fake = join(dir, 'node');
    writeFileSync(fake, '#!/bin/sh\nprintf "agent says hel" >&2; sleep 0.3; printf "lo\\nlast line without newline" >&2\n');
    chmodSync(fake, 0o755);
    const lines: string[] = [];
    const launcher = new LocalLauncher({ node: fake, onLog: (_id, line) => lines.push(line) });
    try {
      const h = await launcher.launch({ agentId: 'a1', secretKey: 'x', controllerKey: 'y', url: 'ws://127.0.0.1:1/agent' } as never);
      const exit = await h.exited;
      expect(lines).toEqual(['agent says hello', 'last line without newline']);
      expect(exit.stderrTail).toBe('agent says hello\nlast line without newline');
    } finally {
      await launcher.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The unit project keeps its promise: a test here that starts a process or opens a socket fails. */
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { describe, expect, it } from 'vitest';

describe('the unit project', () => {
  it('refuses to start a child process, to listen and to connect', () => {
    expect(() => spawn('true')).toThrow(/child_process\.spawn called in a unit test/);
    expect(() => createServer().listen(0, '127.0.0.1')).toThrow(/net\.Server#listen called in a unit test/);
    expect(() => connect(1, '127.0.0.1')).toThrow(/net\.connect called in a unit test/);
  });
});

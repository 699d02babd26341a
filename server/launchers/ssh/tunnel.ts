/**
 * The reverse tunnel: a port on the remote host's loopback whose connections ssh2 hands us, each
 * piped to the controller's agent endpoint. The agent channel inside is end-to-end encrypted
 * and authenticated, so neither this pipe nor the SSH hop is trusted with anything.
 */
import { connect } from 'node:net';
import type { Client as SshClient } from 'ssh2';
import { FlotillaError } from '../../../contract/errors.js';

export interface Tunnel {
  /** The port agents on the remote host dial on 127.0.0.1. */
  remotePort: number;
  close(): void;
}

/** Opens a remote loopback port forwarding to `target` (the controller's agent endpoint). */
export function openTunnel(client: SshClient, target: { host: string; port: number }, wanted = 0): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    client.forwardIn('127.0.0.1', wanted, (err, remotePort) => {
      // The port asked for (the one agents already dial) may be taken meanwhile: any will do.
      if (err && wanted !== 0) return void openTunnel(client, target).then(resolve, reject);
      if (err) return reject(new FlotillaError('LAUNCH_FAILED', `the host refused a reverse tunnel (AllowTcpForwarding?): ${err.message}`, { cause: err }));
      remotePort ||= wanted;
      const onConnection = (info: { destPort: number }, accept: () => import('ssh2').ClientChannel, rejectConn: () => void) => {
        if (info.destPort !== remotePort) return;
        const local = connect(target.port, target.host);
        const remote = accept();
        local.on('error', () => remote.close());
        remote.on('error', () => local.destroy());
        local.on('connect', () => {
          local.pipe(remote);
          remote.pipe(local);
        });
        local.on('close', () => remote.close());
        remote.on('close', () => local.destroy());
        void rejectConn;
      };
      client.on('tcp connection', onConnection);
      resolve({
        remotePort,
        close: () => {
          client.off('tcp connection', onConnection);
          client.unforwardIn('127.0.0.1', remotePort, () => {});
        },
      });
    });
  });
}

/**
 * TLS for the client endpoint: a certificate and key the user gives, or a self-signed pair made
 * once and kept in the state folder, so its SHA-256 fingerprint (which clients pin) stays the
 * same across restarts. node-forge, which writes the certificate, is loaded only for that.
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { FlotillaError } from '../../contract/errors.js';
import { narrowFile } from '../private-files.js';

/** A certificate and its private key, PEM. */
export interface TlsMaterial {
  cert: string | Buffer;
  key: string | Buffer;
}

/** What the controller serves TLS with, and the certificate's SHA-256 fingerprint (AA:BB:...). */
export interface TlsSetup extends TlsMaterial {
  fingerprint: string;
}

/** The SHA-256 fingerprint of a PEM certificate, as OpenSSL prints it. */
export function fingerprintOf(cert: string | Buffer): string {
  try {
    return new X509Certificate(cert).fingerprint256;
  } catch (err) {
    throw new FlotillaError('BAD_INPUT', `tls.cert is not a PEM certificate: ${(err as Error).message}`);
  }
}

/** Checks a given pair, or makes (once) the self-signed one in `stateDir`. */
export async function tlsSetup(tls: TlsMaterial | 'self-signed', stateDir: string, host: string): Promise<TlsSetup> {
  if (tls !== 'self-signed') {
    if (!tls || typeof tls !== 'object' || !tls.cert || !tls.key) throw new FlotillaError('BAD_INPUT', "tls must be 'self-signed' or { cert, key } (PEM text)");
    return { ...tls, fingerprint: fingerprintOf(tls.cert) };
  }
  const certPath = join(stateDir, 'tls-cert.pem'), keyPath = join(stateDir, 'tls-key.pem');
  if (existsSync(certPath) && existsSync(keyPath)) {
    narrowFile(keyPath);
    const cert = readFileSync(certPath, 'utf8');
    return { cert, key: readFileSync(keyPath, 'utf8'), fingerprint: fingerprintOf(cert) };
  }
  const { cert, key } = await selfSigned(host);
  writeFileSync(keyPath, key, { mode: 0o600 });
  writeFileSync(certPath, cert, { mode: 0o600 });
  return { cert, key, fingerprint: fingerprintOf(cert) };
}

/** A self-signed RSA-2048 certificate for this host's names, valid 10 years. */
async function selfSigned(host: string): Promise<{ cert: string; key: string }> {
  const forge = (await import('node-forge')).default;
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(pair.publicKey);
  cert.serialNumber = '01' + randomBytes(15).toString('hex');
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  const name = [{ name: 'commonName', value: `flotilla controller on ${hostname()}` }];
  cert.setSubject(name);
  cert.setIssuer(name);
  // Names clients may use; pinning by fingerprint does not depend on them.
  const dns = new Set(['localhost', hostname()]);
  const ips = new Set(['127.0.0.1', '::1']);
  if (isIP(host) && host !== '0.0.0.0' && host !== '::') ips.add(host);
  else if (!isIP(host)) dns.add(host);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [...[...dns].map((value) => ({ type: 2, value })), ...[...ips].map((ip) => ({ type: 7, ip }))] },
  ]);
  cert.sign(forge.pki.privateKeyFromPem(pair.privateKey), forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: pair.privateKey };
}

/**
 * The controller's state folder: its long-term identity and the clients' bearer token, each in
 * a 0600 file inside a 0700 folder, so only the user who runs the controller can read them.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { generateIdentity } from '../agent/protocol/generate-identity.js';
import { identityFromSecret, keyFromText, keyToText } from '../agent/protocol/identity.js';
import type { Identity } from '../agent/protocol/identity.js';
import { narrowFile, privateDir } from './private-files.js';

export { defaultStateDir, tokenPath } from '../contract/state-path.js';
import { tokenPath } from '../contract/state-path.js';

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text + '\n', { mode: 0o600 });
  chmodSync(path, 0o600); // the mode above is ignored when the file already existed
}

/** Loads the controller identity from `dir`, creating it on first use. */
export function loadIdentity(dir: string): Identity {
  privateDir(dir);
  const path = join(dir, 'controller.key');
  narrowFile(path);
  if (existsSync(path)) return identityFromSecret(keyFromText(readFileSync(path, 'utf8'), 64, `controller key ${path}`));
  const id = generateIdentity();
  writeSecret(path, keyToText(id.secretKey));
  return id;
}


/** Loads the bearer token from `dir`, creating a random one on first use. */
export function loadToken(dir: string): string {
  privateDir(dir);
  const path = tokenPath(dir);
  narrowFile(path);
  if (existsSync(path)) {
    const t = readFileSync(path, 'utf8').trim();
    if (t.length >= 32) return t;
  }
  const token = randomBytes(32).toString('base64url');
  writeSecret(path, token);
  return token;
}

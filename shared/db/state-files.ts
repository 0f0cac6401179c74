import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Creates the state folder if needed and returns its path. Mode 0711: others
 * may traverse it (the embedded server runs as an unprivileged OS user and
 * owns its own data folder inside) but not list it; every secret file in it
 * is 0600.
 */
export function ensureHome(home: string): string {
  fs.mkdirSync(home, { recursive: true, mode: 0o711 });
  fs.chmodSync(home, 0o711);
  return home;
}

/**
 * Reads a secret kept in the state folder, creating it (mode 0600, atomically)
 * on first use. Used for development-only secrets such as the embedded
 * superuser password and the service roles' passwords.
 */
export function readOrCreateSecret(file: string, make: () => string = () => crypto.randomBytes(24).toString('base64url')): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const value = make();
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, value + '\n', { mode: 0o600 });
  try {
    fs.linkSync(tmp, file); // fails if another process won the race: keep theirs
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    fs.unlinkSync(tmp);
  }
  return fs.readFileSync(file, 'utf8').trim();
}

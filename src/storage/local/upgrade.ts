/**
 * Upgrading a local store to encryption at rest without making anything unreadable.
 *
 * The first time a store is opened with encryption on, `noteEncryptionStart` looks whether it
 * already holds objects (written before this version, or while `LOCAL_ENCRYPTION=off`). If it
 * does, it leaves `<root>/plaintext-objects`: while that marker is there, objects without an
 * envelope are served as they are (they were written in plaintext by this server), instead of
 * answering CORRUPT. `tessera keys rotate --encrypt-plaintext` encrypts them and removes the
 * marker once none is left; from then on an object without an envelope is CORRUPT again (a
 * stripped header is never served as bytes). `<root>/encryption-on` records that the look was
 * taken; turning encryption off removes it, so turning it on again looks again.
 *
 * Errors: file-system errors are thrown (the server refuses to start on an unreadable root).
 */
import fs from 'node:fs';
import path from 'node:path';

export const PLAINTEXT_MARKER = 'plaintext-objects';
const ENCRYPTION_ON = 'encryption-on';

/** Called at start-up with encryption on (`writing`) or off; true when plaintext objects may exist and are to be served. */
export function noteEncryptionStart(root: string, writing: boolean): boolean {
  const on = path.join(root, ENCRYPTION_ON);
  const marker = path.join(root, PLAINTEXT_MARKER);
  if (!writing) {
    fs.rmSync(on, { force: true });
    return true;
  }
  if (!fs.existsSync(on)) {
    if (holdsObjects(path.join(root, 'objects'))) fs.writeFileSync(marker, `${new Date().toISOString()}\n`);
    fs.mkdirSync(root, { recursive: true });
    fs.writeFileSync(on, `${new Date().toISOString()}\n`);
  }
  return fs.existsSync(marker);
}

/** Removes the marker: every object of the store is encrypted now. */
export async function forgetPlaintext(root: string): Promise<void> {
  await fs.promises.rm(path.join(root, PLAINTEXT_MARKER), { force: true });
}

function holdsObjects(dir: string): boolean {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
  return entries.some((e) => e.isFile() || (e.isDirectory() && !e.name.startsWith('trash-') && holdsObjects(path.join(dir, e.name))));
}

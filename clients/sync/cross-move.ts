import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TesseraClient } from '../sdk/client';
import { isTesseraError } from '../sdk/errors';
import type { RemoteEntry, SyncedEntry, Tree } from './entries';
import { isIgnoredPath, isInside } from './paths';

/**
 * A local move the server refuses as a move: between the user's own tree and a shared folder
 * (mount), or between two mounts, which are different owners' trees (moveFile answers
 * BAD_USER_INPUT, see the README's Sharing section). Carried out as copy + delete: the local
 * file or folder at `to` is uploaded (folders with everything inside, skipping what sync always
 * ignores), then the old remote node is deleted, only if unchanged since it was seen (a file at
 * `remote.revision`, a folder with nothing changed after `cursor`); if it changed, it stays and
 * the next pass brings it back. A folder is also kept when `keepOld` (the remote tree already
 * held something inside it that the local copy never had: `unseenInside`), since the cursor,
 * taken after that change, would not stop its deletion. Returns the bytes sent. The caller
 * records the old path as gone; the next pass finds the copies remote and local alike and
 * records them.
 */
export async function copyAcross(
  client: TesseraClient, abs: (rel: string) => string, remotePath: (rel: string) => string,
  to: string, remote: RemoteEntry, cursor: string | null, keepOld = false,
): Promise<{ bytesSent: number; oldKept: boolean }> {
  let bytesSent = 0;
  const put = async (rel: string, folder: boolean) => {
    if (!folder) {
      bytesSent += (await client.upload(abs(rel), remotePath(rel))).bytesSent;
      return;
    }
    await client.createFolder(remotePath(rel));
    for (const d of await readdir(abs(rel), { withFileTypes: true })) {
      const child = join(rel, d.name).split('\\').join('/');
      if (isIgnoredPath(child) || (!d.isDirectory() && !d.isFile())) continue;
      await put(child, d.isDirectory());
    }
  };
  await put(to, remote.kind === 'folder');
  if (keepOld) return { bytesSent, oldKept: true };
  try {
    await client.deleteFile({ id: remote.fileId }, remote.kind === 'file' ? { baseRevision: remote.revision } : cursor ? { ifUnchangedSince: cursor } : {});
  } catch (e) {
    if (isTesseraError(e, 'CONFLICT')) return { bytesSent, oldKept: true };
    if (!isTesseraError(e, 'NOT_FOUND')) throw e;
  }
  return { bytesSent, oldKept: false };
}

/**
 * Whether the remote tree holds, inside the folder `from`, an entry that the last sync did not
 * bring to this device (new, another node, or another revision than the synced one): a local
 * copy of the folder cannot hold it, so a copy + delete across owners must keep the old folder.
 */
export function unseenInside(from: string, remote: Tree<RemoteEntry>, synced: Tree<SyncedEntry>): boolean {
  for (const [p, r] of remote) {
    if (!isInside(p, from)) continue;
    const s = synced.get(p);
    if (!s || s.fileId !== r.fileId || (r.kind === 'file' && s.revision !== r.revision)) return true;
  }
  return false;
}

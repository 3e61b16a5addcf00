import { lstat } from 'node:fs/promises';
import { existsSync } from 'node:fs';

/**
 * A condition under which syncing on would destroy data, so the engine stops instead:
 * LOCAL_ROOT_GONE (the synced folder was deleted or replaced while syncing: its files must
 * not be deleted in the cloud), REMOTE_ROOT_GONE (the remote folder was moved or deleted: the
 * local files must not be deleted, nor a new empty remote folder filled).
 */
export class SyncHalted extends Error {
  constructor(readonly code: 'LOCAL_ROOT_GONE' | 'REMOTE_ROOT_GONE', message: string) {
    super(message);
    this.name = 'SyncHalted';
  }
}

/** The identity of a folder (device and inode): a folder deleted and made again is another one. */
export async function folderIdentity(path: string): Promise<string | null> {
  const st = await lstat(path).catch(() => null);
  return st?.isDirectory() ? `${st.dev}:${st.ino}` : null;
}

/** Throws LOCAL_ROOT_GONE unless `folder` is still the folder `identity` names and its state database is still there. */
export async function checkLocalRoot(folder: string, identity: string, stateFile: string): Promise<void> {
  if ((await folderIdentity(folder)) !== identity || !existsSync(stateFile)) {
    throw new SyncHalted('LOCAL_ROOT_GONE', `${folder} is gone or was replaced while syncing: sync stopped, nothing was deleted in the cloud`);
  }
}

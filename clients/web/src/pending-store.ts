/**
 * Unfinished uploads remembered in IndexedDB, so that after a reload (or a closed tab) the
 * upload panel lists them and picking or dropping the same file again continues the server's
 * session: the SDK's beginUpload finds the ACTIVE session of the same path and content and only
 * the parts it lacks are sent. A file is recognised by name, size and last-modified time.
 * Every function here swallows IndexedDB failures (private mode, quota): resuming is a bonus.
 */

export interface PendingUpload {
  key: string;
  name: string;
  size: number;
  lastModified: number;
  /** Where it goes: a path in the user's tree, or relative to folderId. */
  path: string;
  folderId?: string;
  /** The server's upload session, once begun (cancelling an interrupted upload aborts it). */
  sessionId?: string;
  savedAt: number;
}

const DB = 'tessera';
const STORE = 'pending-uploads';

export function fileKey(f: { name: string; size: number; lastModified: number }): string {
  return `${f.name}\u0000${f.size}\u0000${f.lastModified}`;
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'key' });
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function run<T>(mode: IDBTransactionMode, fn: (s: IDBObjectStore) => IDBRequest<T>): Promise<T | undefined> {
  try {
    const db = await open();
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      tx.oncomplete = () => { db.close(); resolve(req.result); };
      tx.onerror = () => { db.close(); reject(tx.error); };
    });
  } catch {
    return undefined;
  }
}

export const savePending = (p: PendingUpload) => run('readwrite', (s) => s.put(p)).then(() => undefined);
export const dropPending = (key: string) => run('readwrite', (s) => s.delete(key)).then(() => undefined);
export const allPending = async (): Promise<PendingUpload[]> => (await run('readonly', (s) => s.getAll() as IDBRequest<PendingUpload[]>)) ?? [];

import { normaliseRoot } from './paths';
import { StateDb } from './state-db';

/**
 * The remote root to open `folder`'s SyncEngine with: `requested` (a `--remote`), else the root
 * the folder is bound to, else "/". A folder is bound for good once its remote tree has been
 * listed (its state has a cursor), and the engine then refuses another root. Before that nothing
 * has been synced, so a binding left by a run that never got that far (e.g. one that bound the
 * folder to a file, before the engine checked roots) is forgotten when another root is asked
 * for: the engine checks and binds the new one, and no one has to delete `.tessera` by hand.
 * Throws LOCKED when another sync holds the folder.
 */
export function prepareRemoteRoot(folder: string, requested?: string): string {
  if (!StateDb.existsIn(folder)) return normaliseRoot(requested ?? '/');
  const db = new StateDb(folder);
  try {
    const bound = db.get('remoteRoot');
    const root = normaliseRoot(requested ?? bound ?? '/');
    if (bound !== null && bound !== root && db.get('cursor') === null) {
      db.set('remoteRoot', null);
      db.set('remoteRootId', null);
    }
    return root;
  } finally {
    db.close();
  }
}

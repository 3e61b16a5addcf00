import { In, type EntityManager } from 'typeorm';
import { Change, JournalHead, type FileNode } from '../entities';
import { AppError } from './errors';
import { decodeCursor } from './journal';
import { locksRows, writeLock } from './tx';

/**
 * The preconditions a sync client attaches to tree mutations so that it never destroys or
 * carries along a change it has not seen (DESIGN.md "Change journal and sync"). Each runs
 * inside the mutation's transaction, before anything is written, and throws CONFLICT (nothing
 * changed) when it does not hold.
 */

/** CONFLICT unless `node` (a file) is still at `baseRevision`; folders and an absent baseRevision pass. */
export function checkRevision(node: Pick<FileNode, 'isFolder' | 'revision'>, baseRevision: number | null | undefined): void {
  if (baseRevision === null || baseRevision === undefined || node.isFolder) return;
  if (node.revision !== baseRevision) {
    throw new AppError('CONFLICT', `the file is at revision ${node.revision}, not ${baseRevision}`, { currentRevision: node.revision });
  }
}

/** Journal rows looked at per query (the ids of a large subtree go in batches). */
const BATCH = 500;

/**
 * CONFLICT when any of `nodes` (a folder and its live descendants) has a change in the
 * caller's feed after `cursor` (a `changes` / `latestCursor` cursor of that caller): something
 * in the subtree was created, edited, moved in or renamed since the client last looked, and a
 * deletion would trash it unseen. One indexed query per 500 nodes on the journal's (namespace,
 * seq) key, over the entries after the cursor only. The caller's journal head is locked first
 * and the journal read is a locking read, so on MariaDB a change that commits concurrently is
 * either seen here or ordered after this mutation. A cursor older than the journal keeps (or
 * malformed: BAD_USER_INPUT) cannot vouch for anything: CONFLICT.
 */
export async function checkUnchangedSince(m: EntityManager, userId: string, cursor: string | null | undefined, nodes: Pick<FileNode, 'id'>[]): Promise<void> {
  if (cursor === null || cursor === undefined) return;
  const after = decodeCursor(cursor)[userId] ?? 0;
  const head = await m.getRepository(JournalHead).findOne({ where: { namespaceId: userId }, ...writeLock(m) });
  if (head && after < head.prunedSeq) throw new AppError('CONFLICT', 'the cursor is older than the journal keeps: refresh and try again');
  if (!head || head.lastSeq <= after) return;
  const ids = nodes.map((n) => n.id);
  for (let i = 0; i < ids.length; i += BATCH) {
    const q = m.getRepository(Change).createQueryBuilder('c').select('c.path', 'path')
      .where({ namespaceId: userId, fileId: In(ids.slice(i, i + BATCH)) })
      .andWhere('c.seq > :after', { after })
      .limit(1);
    if (locksRows(m)) q.setLock('pessimistic_read');
    const hit = await q.getRawOne<{ path: string }>();
    if (hit) {
      throw new AppError('CONFLICT', `${hit.path} changed since the given cursor: nothing was deleted`, { changedPath: hit.path });
    }
  }
}

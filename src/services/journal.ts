import type { DataSource, EntityManager } from 'typeorm';
import { Change, FileNode, JournalHead, type ChangeKind } from '../entities';
import { AppError, badInput } from './errors';
import type { EventBus } from './events';

export interface ChangeInput {
  kind: ChangeKind;
  file: Pick<FileNode, 'id' | 'ownerId' | 'path' | 'revision' | 'isFolder'>;
  deviceId: string | null;
  fromPath?: string | null;
  subjectUserId?: string | null;
}

/** Opaque to clients: the last position seen per namespace. */
export type CursorState = Record<string, number>;

export interface ChangeEntry {
  change: Change;
  /** Resumes right after this change. */
  cursor: string;
}

export interface ChangePage {
  changes: ChangeEntry[];
  cursor: string;
  hasMore: boolean;
}

/**
 * The change journal. Each owner's tree is a namespace with its own gapless sequence:
 * an append locks the namespace's head row, so positions commit in order and a reader
 * that has seen position n will never later find an uncommitted n-1.
 */
export class JournalService {
  constructor(private readonly ds: DataSource, private readonly bus: EventBus) {}

  /** Appends inside the caller's transaction; call `notify` with the result after commit. */
  async append(m: EntityManager, input: ChangeInput): Promise<Change> {
    const namespaceId = input.file.ownerId;
    const head = await this.lockHead(m, namespaceId);
    const seq = head.lastSeq + 1;
    await m.update(JournalHead, { namespaceId }, { lastSeq: seq });
    const change = m.create(Change, {
      namespaceId,
      seq,
      kind: input.kind,
      fileId: input.file.id,
      path: input.file.path,
      fromPath: input.fromPath ?? null,
      revision: input.file.revision,
      isFolder: input.file.isFolder,
      deviceId: input.deviceId,
      subjectUserId: input.subjectUserId ?? null,
      at: new Date(),
    });
    await m.insert(Change, change);
    return change;
  }

  async notify(changes: Change[]): Promise<void> {
    const last = new Map<string, number>();
    for (const c of changes) last.set(c.namespaceId, Math.max(c.seq, last.get(c.namespaceId) ?? 0));
    for (const [namespaceId, seq] of last) await this.bus.publish({ type: 'change', namespaceId, seq });
  }

  /** Changes after `cursor` in the given namespaces, in order per namespace. */
  async read(namespaces: string[], cursor: string | null, limit: number): Promise<ChangePage> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badInput('limit must be between 1 and 1000');
    const state = cursor ? decodeCursor(cursor) : {};
    const out: ChangeEntry[] = [];
    let hasMore = false;
    for (const ns of namespaces) {
      const after = state[ns] ?? 0;
      const rows = await this.ds.getRepository(Change).createQueryBuilder('c')
        .where('c.namespaceId = :ns AND c.seq > :after', { ns, after })
        .orderBy('c.seq', 'ASC').limit(limit - out.length + 1).getMany();
      if (rows.length > limit - out.length) { hasMore = true; rows.length = limit - out.length; }
      state[ns] = after;
      for (const change of rows) {
        state[ns] = change.seq;
        out.push({ change, cursor: encodeCursor(state) });
      }
      if (out.length >= limit) { hasMore = hasMore || namespaces.indexOf(ns) < namespaces.length - 1; break; }
    }
    return { changes: out, cursor: encodeCursor(state), hasMore };
  }

  /** A cursor positioned at the current end of the given namespaces. */
  async latest(namespaces: string[]): Promise<string> {
    const state: CursorState = {};
    if (namespaces.length) {
      const heads = await this.ds.getRepository(JournalHead).createQueryBuilder('h')
        .where('h.namespaceId IN (:...ns)', { ns: namespaces }).getMany();
      for (const ns of namespaces) state[ns] = heads.find((h) => h.namespaceId === ns)?.lastSeq ?? 0;
    }
    return encodeCursor(state);
  }

  private async lockHead(m: EntityManager, namespaceId: string): Promise<JournalHead> {
    const pessimistic = m.connection.options.type !== 'better-sqlite3';
    const find = () => m.getRepository(JournalHead).findOne({ where: { namespaceId }, ...(pessimistic ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
    const head = await find();
    if (head) return head;
    await m.createQueryBuilder().insert().into(JournalHead).values({ namespaceId, lastSeq: 0 }).orIgnore().execute();
    const created = await find();
    if (!created) throw new AppError('INTERNAL', 'journal head missing');
    return created;
  }
}

export function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

export function decodeCursor(cursor: string): CursorState {
  try {
    const state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (state && typeof state === 'object' && !Array.isArray(state) && Object.values(state).every((v) => Number.isSafeInteger(v))) return state;
  } catch { /* fall through */ }
  throw badInput('invalid cursor');
}

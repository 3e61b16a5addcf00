import { In, LessThan, type DataSource, type EntityManager } from 'typeorm';
import { Change, FileNode, JournalHead, type ChangeKind } from '../entities';
import { AppError, badInput } from './errors';
import type { EventBus } from './events';
import { writeLock } from './tx';
import { fanOut, sharesOf } from './journal-fanout';

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
 * The change journal. Each user's feed is a namespace with its own gapless sequence: an append
 * locks the namespace's head row, so positions commit in order and a reader that has seen
 * position n will never later find an uncommitted n-1. A change is appended to its owner's
 * namespace and copied into the namespaces of the users it is shared with (journal-fanout.ts),
 * all in the caller's transaction.
 *
 * Errors: `read` throws BAD_USER_INPUT for a malformed cursor or limit, and RESET for a cursor
 * older than what retention kept (the client lists again and continues from `latest`).
 */
export class JournalService {
  /** The grantee copies written with an owner's change, so `notify` can wake their readers. */
  private readonly copies = new WeakMap<Change, Change[]>();
  /**
   * Identical reads in flight (many subscribers woken by one change) share one query. A change
   * event drops its namespace's entries first (this listener is registered before any reader's),
   * so a read started after a wake-up never joins a query that began before that commit.
   */
  private readonly inflight = new Map<string, Map<string, Promise<Change[]>>>();

  /** Told how many changes each committed write recorded (the metrics' journal write rate). */
  onWritten?: (count: number) => void;

  constructor(private readonly ds: DataSource, private readonly bus: EventBus) {
    bus.subscribe((e) => {
      if (e.type === 'change') this.inflight.delete(e.namespaceId);
      else if (e.type === 'resync') this.inflight.clear();
    });
  }

  /**
   * Appends inside the caller's transaction; call `notify` with the result after commit. With
   * `fanOut: false` the change goes to `input.file.ownerId`'s namespace only (a member's own
   * mount move, which no one else sees).
   */
  async append(m: EntityManager, input: ChangeInput, opts: { fanOut?: boolean } = {}): Promise<Change> {
    const at = new Date();
    const make = (namespaceId: string, seq: number, e: Omit<Change, 'namespaceId' | 'seq' | 'at' | 'deviceId' | 'subjectUserId'>, subjectUserId: string | null) =>
      m.create(Change, { namespaceId, seq, ...e, deviceId: input.deviceId, subjectUserId, at });
    const owner = input.file.ownerId;
    const [seq] = await this.reserve(m, owner, 1);
    const change = make(owner, seq, {
      kind: input.kind, fileId: input.file.id, path: input.file.path, fromPath: input.fromPath ?? null,
      revision: input.file.revision, isFolder: input.file.isFolder,
    }, input.subjectUserId ?? null);
    await m.insert(Change, change);
    if (opts.fanOut !== false) await this.copyToGrantees(m, input, change, make);
    return change;
  }

  /**
   * Appends changes of one owner's tree (`owner` is every input's `file.ownerId`), in order,
   * inside the caller's transaction: one head lock and one insert per 200 for all of them, and
   * the fan-out of `append` (skipped at once when the owner shares nothing). Call `notify` after commit.
   */
  async appendMany(m: EntityManager, owner: string, inputs: ChangeInput[]): Promise<Change[]> {
    if (!inputs.length) return [];
    if (inputs.some((i) => i.file.ownerId !== owner)) throw new AppError('INTERNAL', 'appendMany: changes of one owner only');
    const at = new Date();
    const make = (namespaceId: string, seq: number, e: Omit<Change, 'namespaceId' | 'seq' | 'at' | 'deviceId' | 'subjectUserId'>, input: ChangeInput) =>
      m.create(Change, { namespaceId, seq, ...e, deviceId: input.deviceId, subjectUserId: input.subjectUserId ?? null, at });
    const seqs = await this.reserve(m, owner, inputs.length);
    const changes = inputs.map((input, i) => make(owner, seqs[i], {
      kind: input.kind, fileId: input.file.id, path: input.file.path, fromPath: input.fromPath ?? null,
      revision: input.file.revision, isFolder: input.file.isFolder,
    }, input));
    for (let i = 0; i < changes.length; i += 200) {
      await m.createQueryBuilder().insert().into(Change).values(changes.slice(i, i + 200)).updateEntity(false).execute();
    }
    if ((await sharesOf(m, owner)).length) {
      for (let i = 0; i < inputs.length; i++) {
        await this.copyToGrantees(m, inputs[i], changes[i], (ns, seq, e, subject) => make(ns, seq, e, { ...inputs[i], subjectUserId: subject }));
      }
    }
    return changes;
  }

  /** The fan-out of one change already in its owner's namespace: copies into the grantees' namespaces. */
  private async copyToGrantees(
    m: EntityManager, input: ChangeInput, change: Change,
    make: (namespaceId: string, seq: number, e: Omit<Change, 'namespaceId' | 'seq' | 'at' | 'deviceId' | 'subjectUserId'>, subjectUserId: string | null) => Change,
  ): Promise<void> {
    const entries = await fanOut(m, input);
    if (entries.length) {
      const copies: Change[] = [];
      const byNs = new Map<string, typeof entries>();
      for (const e of entries) byNs.set(e.namespaceId, [...(byNs.get(e.namespaceId) ?? []), e]);
      // heads in a fixed order, so two fan-outs never wait on each other in a cycle
      for (const ns of [...byNs.keys()].sort()) {
        const list = byNs.get(ns)!;
        const seqs = await this.reserve(m, ns, list.length);
        const rows = list.map(({ namespaceId: _ns, ...e }, i) => make(ns, seqs[i], e, input.subjectUserId ?? null));
        for (let i = 0; i < rows.length; i += 500) await m.insert(Change, rows.slice(i, i + 500));
        copies.push(...rows);
      }
      this.copies.set(change, copies);
    }
  }

  async notify(changes: Change[]): Promise<void> {
    this.onWritten?.(changes.length);
    const last = new Map<string, number>();
    for (const c of changes.flatMap((c) => [c, ...(this.copies.get(c) ?? [])])) {
      last.set(c.namespaceId, Math.max(c.seq, last.get(c.namespaceId) ?? 0));
    }
    for (const [namespaceId, seq] of last) await this.bus.publish({ type: 'change', namespaceId, seq });
  }

  /** Changes after `cursor` in the given namespaces, in order per namespace. */
  async read(namespaces: string[], cursor: string | null, limit: number): Promise<ChangePage> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badInput('limit must be between 1 and 1000');
    const state = cursor ? decodeCursor(cursor) : {};
    await this.checkRetention(namespaces, state);
    const out: ChangeEntry[] = [];
    let hasMore = false;
    for (const ns of namespaces) {
      const after = state[ns] ?? 0;
      const rows = [...await this.rowsAfter(ns, after, limit - out.length + 1)];
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
      const heads = await this.ds.getRepository(JournalHead).findBy({ namespaceId: In(namespaces) });
      for (const ns of namespaces) state[ns] = heads.find((h) => h.namespaceId === ns)?.lastSeq ?? 0;
    }
    return encodeCursor(state);
  }

  /**
   * Retention: deletes entries written before `before` and remembers, per namespace, the last
   * position pruned (cursors before it get RESET). Returns how many entries were deleted.
   */
  async prune(before: Date): Promise<number> {
    const tops: { ns: string; seq: string | number }[] = await this.ds.getRepository(Change).createQueryBuilder('c')
      .select('c.namespaceId', 'ns').addSelect('MAX(c.seq)', 'seq')
      .where('c.at < :before', { before }).groupBy('c.namespaceId').getRawMany();
    let deleted = 0;
    for (const { ns, seq } of tops) {
      const upTo = Number(seq);
      await this.ds.transaction(async (m) => {
        const head = await this.lockHead(m, ns);
        if (head.prunedSeq < upTo) await m.update(JournalHead, { namespaceId: ns }, { prunedSeq: upTo });
      });
      for (;;) {
        const batch = await this.ds.getRepository(Change).find({ select: { seq: true }, where: { namespaceId: ns, seq: LessThan(upTo + 1) }, take: 1000, order: { seq: 'ASC' } });
        if (!batch.length) break;
        await this.ds.getRepository(Change).delete({ namespaceId: ns, seq: In(batch.map((b) => b.seq)) });
        deleted += batch.length;
      }
    }
    return deleted;
  }

  private async checkRetention(namespaces: string[], state: CursorState): Promise<void> {
    if (!namespaces.length) return;
    const heads = await this.ds.getRepository(JournalHead).findBy({ namespaceId: In(namespaces) });
    for (const h of heads) {
      if ((state[h.namespaceId] ?? 0) < h.prunedSeq) {
        throw new AppError('RESET', 'this cursor is older than the journal keeps: list the tree again and continue from latestCursor');
      }
    }
  }

  private rowsAfter(ns: string, after: number, take: number): Promise<Change[]> {
    const key = `${after}:${take}`;
    let reads = this.inflight.get(ns);
    let p = reads?.get(key);
    if (!p) {
      if (!reads) this.inflight.set(ns, (reads = new Map()));
      const mine = reads;
      p = this.ds.getRepository(Change).createQueryBuilder('c')
        .where('c.namespaceId = :ns AND c.seq > :after', { ns, after })
        .orderBy('c.seq', 'ASC').limit(take).getMany()
        .finally(() => {
          mine.delete(key);
          if (!mine.size && this.inflight.get(ns) === mine) this.inflight.delete(ns);
        });
      reads.set(key, p);
    }
    return p;
  }

  /** Takes `count` consecutive positions in a namespace, holding its head lock until commit. */
  private async reserve(m: EntityManager, namespaceId: string, count: number): Promise<number[]> {
    const head = await this.lockHead(m, namespaceId);
    await m.update(JournalHead, { namespaceId }, { lastSeq: head.lastSeq + count });
    return Array.from({ length: count }, (_, i) => head.lastSeq + 1 + i);
  }

  private async lockHead(m: EntityManager, namespaceId: string): Promise<JournalHead> {
    const find = () => m.getRepository(JournalHead).findOne({ where: { namespaceId }, ...writeLock(m) });
    const head = await find();
    if (head) return head;
    await m.createQueryBuilder().insert().into(JournalHead).values({ namespaceId, lastSeq: 0, prunedSeq: 0 }).orIgnore().execute();
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

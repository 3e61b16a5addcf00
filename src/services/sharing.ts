import { In, type DataSource } from 'typeorm';
import { Change, FileNode, Share, User, type ShareRole } from '../entities';
import type { AccessService } from './access';
import { AppError, badInput, notFound } from './errors';
import { decodeKeyset, encodeKeyset, pageSize, toPage, type Page } from './files';
import type { JournalService } from './journal';
import type { MountService } from './mounts';
import { lockOwner, transaction } from './tx';

export interface SharedItem {
  share: Share;
  file: FileNode;
}

const ROLES: ShareRole[] = ['VIEWER', 'EDITOR'];

/**
 * Sharing files and folders with other users. A share on a folder covers everything under
 * it, also what is added later (AccessService resolves shares on ancestors). Only the owner
 * shares; the owner or the grantee may remove a share. Both are journaled (SHARED/UNSHARED)
 * in the owner's namespace, with the grantee as subject, in the same transaction.
 *
 * Sharing with an email that has no account is NOT_FOUND with `extensions.reason =
 * "USER_NOT_FOUND"` (no pending invites).
 */
export class SharingService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly journal: JournalService,
    private readonly mounts: MountService,
  ) {}

  /**
   * Shares (or changes the role of an existing share); returns the share. A new share mounts
   * the node in the grantee's tree (mounts.ts), under the grantee's tree lock.
   */
  async share(userId: string, deviceId: string | null, fileId: string, email: string, role: ShareRole): Promise<Share> {
    if (!ROLES.includes(role)) throw badInput('role must be VIEWER or EDITOR');
    const changes: Change[] = [];
    const grantee = await this.ds.getRepository(User).findOneBy({ email: String(email).trim().toLowerCase() });
    const share = await transaction(this.ds, async (m) => {
      if (grantee) await lockOwner(m, grantee.id);
      const node = await m.findOneBy(FileNode, { id: fileId });
      await this.access.authorize(userId, node, 'share', m);
      if (node!.status !== 'AVAILABLE') throw notFound();
      if (!grantee) throw new AppError('NOT_FOUND', 'no user with this email', { reason: 'USER_NOT_FOUND' });
      if (grantee.id === node!.ownerId) throw badInput('cannot share with the owner');
      let s = await m.findOneBy(Share, { fileId: node!.id, userId: grantee.id });
      if (s?.role === role) return s;
      const existed = Boolean(s);
      if (s) {
        s.role = role;
        await m.update(Share, { id: s.id }, { role });
      } else {
        s = await m.save(m.create(Share, { fileId: node!.id, ownerId: node!.ownerId, userId: grantee.id, role }));
        await this.mounts.create(m, grantee.id, node!);
      }
      changes.push(await this.journal.append(m, { kind: 'SHARED', file: node!, deviceId, subjectUserId: grantee.id }));
      if (!existed) changes.push(...await this.mounts.coverIn(m, grantee.id, node!, deviceId)); // nested shares (mounts.ts)
      return s;
    });
    await this.journal.notify(changes);
    return share;
  }

  /** Removes a share (and the grantee's mount): its file's owner, or the grantee leaving it. Takes effect at once. */
  async unshare(userId: string, deviceId: string | null, shareId: string): Promise<boolean> {
    const changes: Change[] = [];
    const found = await this.ds.getRepository(Share).findOneBy({ id: shareId });
    await transaction(this.ds, async (m) => {
      if (found) await lockOwner(m, found.userId);
      const s = await m.findOneBy(Share, { id: shareId });
      if (!s || (s.ownerId !== userId && s.userId !== userId)) throw notFound('share');
      changes.push(...await this.mounts.unshareIn(m, s, deviceId));
    });
    await this.journal.notify(changes);
    return true;
  }

  /** Live files and folders shared with the user, each once, by name. */
  async sharedWithMe(userId: string, first: number | null | undefined, after: string | null | undefined): Promise<Page<SharedItem>> {
    const limit = pageSize(first);
    const qb = this.ds.getRepository(Share).createQueryBuilder('s')
      .innerJoin(FileNode, 'f', 'f.id = s.fileId')
      .where('s.userId = :userId AND f.status = :status', { userId, status: 'AVAILABLE' });
    if (after) {
      const { name, id } = decodeKeyset(after);
      qb.andWhere('(f.name > :name OR (f.name = :name AND s.id > :id))', { name, id });
    }
    const shares = await qb.orderBy('f.name', 'ASC').addOrderBy('s.id', 'ASC').limit(limit + 1).getMany();
    const files = shares.length ? await this.ds.getRepository(FileNode).findBy({ id: In(shares.map((s) => s.fileId)) }) : [];
    const byId = new Map(files.map((f) => [f.id, f]));
    const rows = shares.map((share) => ({ share, file: byId.get(share.fileId)! })).filter((r) => r.file);
    return toPage(rows, limit, (r) => encodeKeyset(r.file.name, r.share.id));
  }

  /** Shares of many files at once (DataLoader batch), in the order of `fileIds`. */
  async sharesOf(fileIds: readonly string[]): Promise<Share[][]> {
    const rows = fileIds.length ? await this.ds.getRepository(Share).find({ where: { fileId: In([...fileIds]) }, order: { createdAt: 'ASC', id: 'ASC' } }) : [];
    const byFile = new Map<string, Share[]>();
    for (const s of rows) { const list = byFile.get(s.fileId); if (list) list.push(s); else byFile.set(s.fileId, [s]); }
    return fileIds.map((id) => byFile.get(id) ?? []);
  }

  /** Which of a file's shares the caller may see: all of them for the owner, else their own. */
  visibleShares(userId: string, file: FileNode, shares: Share[]): Share[] {
    return file.ownerId === userId ? shares : shares.filter((s) => s.userId === userId);
  }

  /** A share the caller may see (owner or grantee), or NOT_FOUND. */
  async get(userId: string, shareId: string): Promise<Share> {
    const s = await this.ds.getRepository(Share).findOneBy({ id: shareId });
    if (!s || (s.ownerId !== userId && s.userId !== userId)) throw notFound('share');
    return s;
  }
}

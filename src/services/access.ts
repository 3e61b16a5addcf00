import type { DataSource, EntityManager } from 'typeorm';
import { FileNode, Share, type ShareRole } from '../entities';
import { AppError, notFound } from './errors';
import { ROOT, ancestorsOf, parentOf, pathKey } from './paths';

/**
 * read: see, list, download. write: change content (new revision, create inside).
 * remove: move away or delete; needs write on the parent folder, so an editor of a shared
 * folder cannot delete or move the shared folder itself, only what is inside. share: owner only.
 */
export type Action = 'read' | 'write' | 'remove' | 'share';
export type Role = 'OWNER' | ShareRole;

/**
 * The one authorisation point: every read and write of a file passes through here.
 * A caller who may not see a file gets NOT_FOUND (existence is not leaked); one who may see
 * it but not do the action gets FORBIDDEN.
 */
export class AccessService {
  constructor(private readonly ds: DataSource) {}

  /** The caller's role on a node (own, or through a share of it or an ancestor folder), or null. */
  async roleOn(userId: string, node: FileNode, m: EntityManager = this.ds.manager): Promise<Role | null> {
    if (node.ownerId === userId) return 'OWNER';
    const keys = [node.path, ...ancestorsOf(node.path)].map(pathKey);
    const shares = await m.getRepository(Share).createQueryBuilder('s')
      .innerJoin(FileNode, 'f', 'f.id = s.fileId')
      .where('s.userId = :userId AND f.ownerId = :ownerId AND f.pathKey IN (:...keys)', { userId, ownerId: node.ownerId, keys })
      .getMany();
    if (!shares.length) return null;
    return shares.some((s) => s.role === 'EDITOR') ? 'EDITOR' : 'VIEWER';
  }

  /**
   * Throws NOT_FOUND or FORBIDDEN unless the caller may do `action` on the node. With `m`, reads
   * in that transaction (one holding the owner lock must: its connection is the one it has).
   */
  async authorize(userId: string, node: FileNode | null, action: Action, m?: EntityManager): Promise<Role> {
    if (!node || node.status === 'DELETED' && node.ownerId !== userId) throw notFound();
    const role = await this.roleOn(userId, node, m);
    if (!role) throw notFound();
    if (action === 'read') return role;
    if (action === 'write' && role !== 'VIEWER') return role;
    if (action === 'share' && role === 'OWNER') return role;
    if (action === 'remove') {
      if (role === 'OWNER') return role;
      const parent = parentOf(node.path);
      if (role === 'EDITOR' && parent !== ROOT && await this.roleOn(userId, { ownerId: node.ownerId, path: parent } as FileNode, m) === 'EDITOR') return role;
    }
    throw new AppError('FORBIDDEN', `not allowed to ${action} this file`);
  }

  /**
   * Authorises writing at a path of `ownerId`'s tree that may not exist yet (create, upload,
   * move target): the caller needs EDITOR on the path or one of its ancestors. NOT_FOUND when
   * nothing there is shared with the caller, FORBIDDEN for a viewer.
   */
  async authorizeAt(userId: string, ownerId: string, path: string, action: 'write', m?: EntityManager): Promise<Role> {
    if (ownerId === userId) return 'OWNER';
    const role = path === ROOT ? null : await this.roleOn(userId, { ownerId, path } as FileNode, m);
    if (!role) throw notFound('folder');
    if (role === 'VIEWER') throw new AppError('FORBIDDEN', `not allowed to ${action} here`);
    return role;
  }
}

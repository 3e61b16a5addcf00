import type { DataSource } from 'typeorm';
import { FileNode, Share, type ShareRole } from '../entities';
import { AppError, notFound } from './errors';
import { ancestorsOf, pathKey } from './paths';

export type Action = 'read' | 'write' | 'share';
export type Role = 'OWNER' | ShareRole;

/**
 * The one authorisation point: every read and write of a file passes through here.
 * A caller who may not see a file gets NOT_FOUND (existence is not leaked); one who may see
 * it but not do the action gets FORBIDDEN.
 */
export class AccessService {
  constructor(private readonly ds: DataSource) {}

  /** The caller's role on a node (own, or through a share of it or an ancestor folder), or null. */
  async roleOn(userId: string, node: FileNode): Promise<Role | null> {
    if (node.ownerId === userId) return 'OWNER';
    const keys = [node.path, ...ancestorsOf(node.path)].map(pathKey);
    const shares = await this.ds.getRepository(Share).createQueryBuilder('s')
      .innerJoin(FileNode, 'f', 'f.id = s.fileId')
      .where('s.userId = :userId AND f.ownerId = :ownerId AND f.pathKey IN (:...keys)', { userId, ownerId: node.ownerId, keys })
      .getMany();
    if (!shares.length) return null;
    return shares.some((s) => s.role === 'EDITOR') ? 'EDITOR' : 'VIEWER';
  }

  /** Throws NOT_FOUND or FORBIDDEN unless the caller may do `action` on the node. */
  async authorize(userId: string, node: FileNode | null, action: Action): Promise<Role> {
    if (!node || node.status === 'DELETED' && node.ownerId !== userId) throw notFound();
    const role = await this.roleOn(userId, node);
    if (!role) throw notFound();
    if (action === 'read') return role;
    if (action === 'write' && role !== 'VIEWER') return role;
    if (action === 'share' && role === 'OWNER') return role;
    throw new AppError('FORBIDDEN', `not allowed to ${action} this file`);
  }
}

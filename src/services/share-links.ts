import crypto from 'node:crypto';
import { IsNull, type DataSource } from 'typeorm';
import type { Readable } from 'node:stream';
import { FileNode, FileRevision, ShareLink } from '../entities';
import type { StorageAdapter } from '../storage/types';
import type { AccessService } from './access';
import { hashPassword, verifyPassword } from './auth';
import { AppError, badInput, notFound } from './errors';
import type { FileService } from './files';
import type { RateLimiter } from './rate-limit';

export interface CreatedLink {
  link: ShareLink;
  /** The secret part of the URL; shown once, stored only as its SHA-256. */
  token: string;
}

/** Why opening a link failed; the HTTP route maps each to a status. */
export type LinkRefusal = 'NOT_FOUND' | 'EXPIRED' | 'PASSWORD_REQUIRED' | 'WRONG_PASSWORD';

export class LinkError extends Error {
  constructor(readonly reason: LinkRefusal) {
    super(reason);
  }
}

const MAX_PASSWORD = 1024;

/** An opened link: the link and its file or folder, live and still readable by the link's owner. */
export interface OpenedLink {
  link: ShareLink;
  node: FileNode;
}

/**
 * Public links to a file or a folder: `/s/<token>` opens a short-lived signed download URL (a
 * file) or lists the folder's files, each downloadable, or streams them as a zip, after checking
 * that the link is not revoked or expired, the password (scrypt; failures rate limited per link
 * and client), and that the node is still live. A folder link reaches what is in the folder when
 * it is opened (also files added after the link was made). Tokens are 256 random bits, stored as
 * SHA-256. Only the owner creates, lists and revokes links.
 */
export class ShareLinkService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly files: FileService,
    private readonly passwordLimiter: RateLimiter,
    private readonly storage?: StorageAdapter,
  ) {}

  async create(userId: string, fileId: string, expiresAt: Date | null | undefined, password: string | null | undefined): Promise<CreatedLink> {
    const node = await this.ds.getRepository(FileNode).findOneBy({ id: fileId });
    await this.access.authorize(userId, node, 'share');
    if (node!.status !== 'AVAILABLE') throw notFound();
    if (expiresAt && !(expiresAt.getTime() > Date.now())) throw badInput('expiresAt must be in the future', { field: 'expiresAt' });
    if (password !== null && password !== undefined && (password.length < 1 || password.length > MAX_PASSWORD)) {
      throw badInput(`password must have 1 to ${MAX_PASSWORD} characters`, { field: 'password' });
    }
    const token = crypto.randomBytes(32).toString('base64url');
    const link = await this.ds.getRepository(ShareLink).save({
      fileId: node!.id, ownerId: node!.ownerId, tokenHash: hashToken(token),
      passwordHash: password ? await hashPassword(password) : null, expiresAt: expiresAt ?? null, revokedAt: null,
    });
    return { link, token };
  }

  async revoke(userId: string, linkId: string): Promise<boolean> {
    const link = await this.ds.getRepository(ShareLink).findOneBy({ id: linkId });
    if (!link || link.ownerId !== userId) throw notFound('share link');
    if (link.revokedAt) return false;
    await this.ds.getRepository(ShareLink).update({ id: link.id }, { revokedAt: new Date() });
    return true;
  }

  /** Links of many files (DataLoader batch), not revoked; order of `fileIds`. */
  async linksOf(fileIds: readonly string[]): Promise<ShareLink[][]> {
    const rows = fileIds.length
      ? await this.ds.getRepository(ShareLink).createQueryBuilder('l')
        .where('l.fileId IN (:...ids) AND l.revokedAt IS NULL', { ids: [...fileIds] }).orderBy('l.createdAt', 'ASC').getMany()
      : [];
    const byFile = new Map<string, ShareLink[]>();
    for (const l of rows) { const list = byFile.get(l.fileId); if (list) list.push(l); else byFile.set(l.fileId, [l]); }
    return fileIds.map((id) => byFile.get(id) ?? []);
  }

  /** The owner sees a file's links; nobody else does. */
  visibleLinks(userId: string, file: FileNode, links: ShareLink[]): ShareLink[] {
    return file.ownerId === userId ? links : [];
  }

  /**
   * Checks a link and its password; returns it with its file or folder. Throws LinkError
   * (NOT_FOUND also when the node is gone or its owner may no longer read it), or RATE_LIMITED
   * after too many wrong passwords from `clientKey`.
   */
  async unlock(token: string, password: string | null | undefined, clientKey: string): Promise<OpenedLink> {
    if (typeof token !== 'string' || token.length < 16 || token.length > 128) throw new LinkError('NOT_FOUND');
    const link = await this.ds.getRepository(ShareLink).findOneBy({ tokenHash: hashToken(token), revokedAt: IsNull() });
    if (!link) throw new LinkError('NOT_FOUND');
    if (link.expiresAt && link.expiresAt.getTime() <= Date.now()) throw new LinkError('EXPIRED');
    if (link.passwordHash) {
      if (!password) throw new LinkError('PASSWORD_REQUIRED');
      const key = `${link.id}|${clientKey}`;
      const forgive = await this.passwordLimiter.attempt(key); // counted as a failure until it succeeds
      if (password.length > MAX_PASSWORD || !(await verifyPassword(password, link.passwordHash))) throw new LinkError('WRONG_PASSWORD');
      await forgive();
    }
    // the link acts as its owner: the owner must still be able to read the node
    const node = await this.ds.getRepository(FileNode).findOneBy({ id: link.fileId });
    try {
      await this.access.authorize(link.ownerId, node, 'read');
    } catch (e) {
      if (e instanceof AppError) throw new LinkError('NOT_FOUND');
      throw e;
    }
    if (node!.status !== 'AVAILABLE') throw new LinkError('NOT_FOUND');
    return { link, node: node! };
  }

  /**
   * Opens a file link: returns a signed download URL of the file's current revision (of
   * `fileId`, a file inside a linked folder, when given). Throws like unlock; NOT_FOUND for a
   * folder link without `fileId`, or a `fileId` that is not a live file inside the folder.
   */
  async open(token: string, password: string | null | undefined, clientKey: string, fileId?: string): Promise<string> {
    return this.urlFor(await this.unlock(token, password, clientKey), fileId);
  }

  /** The download URL of an unlocked link's file, or of `fileId` inside its folder; NOT_FOUND as for open. */
  async urlFor({ link, node }: OpenedLink, fileId?: string): Promise<string> {
    const file = fileId === undefined ? node : await this.fileInFolder(node, fileId);
    // the URL dies with the link on the local store (checked per request), and never outlives its expiry
    const url = file && !file.isFolder ? await this.files.downloadUrl(file, null, { linkId: link.id, until: link.expiresAt }) : null;
    if (!url) throw new LinkError('NOT_FOUND');
    return url;
  }

  /** The live files under a linked folder, by path (folders are implied by the paths). */
  async folderFiles(folder: FileNode): Promise<FileNode[]> {
    const all = await this.files.descendants(this.ds.manager, folder);
    return all.filter((n) => !n.isFolder && n.status === 'AVAILABLE' && n.currentRevisionId).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  /** The current bytes of a file, streamed from the store (a zip of a linked folder). NOT_FOUND if the object is gone. */
  async content(file: FileNode): Promise<Readable> {
    if (!this.storage || !file.currentRevisionId) throw new LinkError('NOT_FOUND');
    const rev = await this.ds.getRepository(FileRevision).findOneByOrFail({ id: file.currentRevisionId });
    return this.storage.getStream(rev.storageKey);
  }

  private async fileInFolder(folder: FileNode, fileId: string): Promise<FileNode | null> {
    if (!folder.isFolder || typeof fileId !== 'string' || fileId.length > 64) return null;
    const file = await this.ds.getRepository(FileNode).findOneBy({ id: fileId });
    const inside = file && file.ownerId === folder.ownerId && file.status === 'AVAILABLE' && file.path.startsWith(folder.path === '/' ? '/' : `${folder.path}/`);
    return inside ? file : null;
  }
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

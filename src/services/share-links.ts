import crypto from 'node:crypto';
import { IsNull, type DataSource } from 'typeorm';
import { FileNode, ShareLink } from '../entities';
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

/**
 * Public links to a file: `/s/<token>` opens a short-lived signed download URL after checking
 * that the link is not revoked or expired, the password (scrypt; failures rate limited per link
 * and client), and that the file is still live. Tokens are 256 random bits, stored as SHA-256.
 * Only the owner creates, lists and revokes links. Folders cannot be linked (nothing to download).
 */
export class ShareLinkService {
  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly files: FileService,
    private readonly passwordLimiter: RateLimiter,
  ) {}

  async create(userId: string, fileId: string, expiresAt: Date | null | undefined, password: string | null | undefined): Promise<CreatedLink> {
    const node = await this.ds.getRepository(FileNode).findOneBy({ id: fileId });
    await this.access.authorize(userId, node, 'share');
    if (node!.status !== 'AVAILABLE') throw notFound();
    if (node!.isFolder) throw badInput('a public link points at a file, not a folder');
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
   * Opens a link: returns a signed download URL of the file's current revision.
   * Throws LinkError, or RATE_LIMITED after too many wrong passwords from `clientKey`.
   */
  async open(token: string, password: string | null | undefined, clientKey: string): Promise<string> {
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
    // the link acts as its owner: the owner must still be able to read the file
    const node = await this.ds.getRepository(FileNode).findOneBy({ id: link.fileId });
    try {
      await this.access.authorize(link.ownerId, node, 'read');
    } catch (e) {
      if (e instanceof AppError) throw new LinkError('NOT_FOUND');
      throw e;
    }
    // the URL dies with the link on the local store (checked per request), and never outlives its expiry
    const url = node!.status === 'AVAILABLE' ? await this.files.downloadUrl(node!, null, { linkId: link.id, until: link.expiresAt }) : null;
    if (!url) throw new LinkError('NOT_FOUND');
    return url;
  }
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

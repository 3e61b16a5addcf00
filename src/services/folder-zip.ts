import crypto from 'node:crypto';
import type { Readable } from 'node:stream';
import type { DataSource } from 'typeorm';
import { Device, FileNode, FileRevision } from '../entities';
import type { StorageAdapter } from '../storage/types';
import type { AccessService } from './access';
import { notFound } from './errors';
import type { FileService } from './files';

/** How long a folder's zip URL can be opened (the download, once started, may run longer). */
export const FOLDER_ZIP_URL_TTL = 300;

/**
 * A signed-in user's folder as one zip, through a short-lived URL that a browser can open as
 * its own download (it cannot send the Authorization header): `/zip/<token>`, the token an
 * HMAC-signed (folder, device, expiry). Opening it checks access again, as every read does:
 * the device is not signed out, its user may still read the folder (own, or shared with them),
 * the folder is live. Any refusal is NOT_FOUND (bad or expired signature included), never a
 * hint that the folder exists. The files are streamed one after another from the store
 * (src/server/zip-response.ts), so memory stays constant whatever the folder's size.
 */
export class FolderZipService {
  private readonly key: Buffer;

  constructor(
    private readonly ds: DataSource,
    private readonly access: AccessService,
    private readonly files: FileService,
    private readonly storage: StorageAdapter,
    secret: string,
  ) {
    this.key = crypto.createHmac('sha256', secret).update('tessera folder zip v1').digest();
  }

  /** The zip URL (relative to the server) of folder `node`, readable by `userId`; null for a file or a folder not live. */
  async url(userId: string, deviceId: string, node: FileNode): Promise<string | null> {
    if (!node.isFolder || node.status !== 'AVAILABLE') return null;
    await this.access.authorize(userId, node, 'read');
    const body = Buffer.from(JSON.stringify({ f: node.id, d: deviceId, e: Math.floor(Date.now() / 1000) + FOLDER_ZIP_URL_TTL })).toString('base64url');
    return `/zip/${body}.${this.sign(body)}`;
  }

  /** The folder a zip token names and its live files (by path); NOT_FOUND for anything refused. */
  async open(token: string): Promise<{ folder: FileNode; files: FileNode[] }> {
    const claim = this.verify(token);
    if (!claim) throw notFound('folder');
    const [device, folder] = await Promise.all([
      this.ds.getRepository(Device).findOneBy({ id: claim.d }),
      this.ds.getRepository(FileNode).findOneBy({ id: claim.f }),
    ]);
    if (!device || device.revokedAt || !folder || !folder.isFolder || folder.status !== 'AVAILABLE') throw notFound('folder');
    await this.access.authorize(device.userId, folder, 'read');
    const all = await this.files.descendants(this.ds.manager, folder);
    const files = all.filter((n) => !n.isFolder && n.status === 'AVAILABLE' && n.currentRevisionId)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    return { folder, files };
  }

  /** The current bytes of a file, streamed from the store. */
  async content(file: FileNode): Promise<Readable> {
    if (!file.currentRevisionId) throw notFound();
    const rev = await this.ds.getRepository(FileRevision).findOneByOrFail({ id: file.currentRevisionId });
    return this.storage.getStream(rev.storageKey);
  }

  private sign(body: string): string {
    return crypto.createHmac('sha256', this.key).update(body).digest('base64url');
  }

  private verify(token: string): { f: string; d: string; e: number } | null {
    if (typeof token !== 'string' || token.length > 600) return null;
    const [body, sig, extra] = token.split('.');
    if (!body || !sig || extra !== undefined) return null;
    const want = Buffer.from(this.sign(body));
    const got = Buffer.from(sig);
    if (want.length !== got.length || !crypto.timingSafeEqual(want, got)) return null;
    try {
      const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
      if (typeof c?.f !== 'string' || typeof c?.d !== 'string' || typeof c?.e !== 'number') return null;
      return c.e * 1000 > Date.now() ? c : null;
    } catch {
      return null;
    }
  }
}

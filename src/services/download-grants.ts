import type { DataSource } from 'typeorm';
import { Device, FileNode, FileRevision, ShareLink } from '../entities';
import type { AccessService } from './access';
import { AppError } from './errors';

/**
 * Who a download URL is minted for: a signed-in device (its user's access to the file), or a
 * public link (its owner's access, while the link lives; `until`: the link's expiry, which the
 * URL's own expiry never passes).
 */
export type UrlHolder = { deviceId: string } | { linkId: string; until?: Date | null };

const UUID = '[0-9a-fA-F-]{36}';
const GRANT = new RegExp(`^([dl]):(${UUID}):(${UUID})$`);

/**
 * The grant a local-store download URL carries (signed with it): `d:<deviceId>:<revisionId>` or
 * `l:<linkId>:<revisionId>`. Stores that presign (S3, GCS) ignore it.
 */
export function encodeGrant(holder: UrlHolder, revisionId: string): string {
  return 'deviceId' in holder ? `d:${holder.deviceId}:${revisionId}` : `l:${holder.linkId}:${revisionId}`;
}

/**
 * Re-checks, on every request to a local-store download URL, the access the URL was minted
 * under, so that a URL dies with that access (not at its expiry):
 *
 * - device grant: the device is not signed out, its user may still read the file (owner, or a
 *   share of the file or of a folder above it), the file is live (not trashed) and the revision
 *   still exists (not purged);
 * - link grant: the link is neither revoked nor expired, its owner may still read the file, the
 *   file is live and the revision still exists, and the file is the link's, or is now inside the
 *   link's folder (a file moved out of a linked folder is no longer reachable through it).
 *
 * Cost: two primary-key lookups run in parallel (the device or link; the revision joined to its
 * file), plus, for a grantee, the one indexed share lookup that authorises any read. A bad or
 * stale grant answers false; only a database failure throws.
 */
export class DownloadGrantService {
  constructor(private readonly ds: DataSource, private readonly access: AccessService) {}

  async allows(grant: string | undefined): Promise<boolean> {
    const m = grant ? GRANT.exec(grant) : null;
    if (!m) return false;
    const [, kind, holderId, revisionId] = m;
    const [reader, file] = await Promise.all([
      kind === 'd' ? this.liveDevice(holderId) : this.liveLink(holderId),
      this.ds.getRepository(FileNode).createQueryBuilder('f')
        .innerJoin(FileRevision, 'r', 'r.fileId = f.id')
        .where('r.id = :revisionId', { revisionId })
        .getOne(),
    ]);
    if (!reader || !file || file.status !== 'AVAILABLE') return false;
    if (reader.fileId && reader.fileId !== file.id && !(reader.folder && inside(file, reader.folder))) return false;
    try {
      await this.access.authorize(reader.userId, file, 'read');
      return true;
    } catch (e) {
      if (e instanceof AppError) return false; // NOT_FOUND: no longer readable by this reader
      throw e;
    }
  }

  /** The user a live device reads as. */
  private async liveDevice(id: string): Promise<{ userId: string; fileId?: string; folder?: FileNode } | null> {
    const device = await this.ds.getRepository(Device).findOneBy({ id });
    return device && !device.revokedAt ? { userId: device.userId } : null;
  }

  /** A live link reads as its owner, and only its own file, or what is now inside its (live) folder. */
  private async liveLink(id: string): Promise<{ userId: string; fileId?: string; folder?: FileNode } | null> {
    const link = await this.ds.getRepository(ShareLink).findOneBy({ id });
    if (!link || link.revokedAt || (link.expiresAt && link.expiresAt.getTime() <= Date.now())) return null;
    const node = await this.ds.getRepository(FileNode).findOneBy({ id: link.fileId });
    const folder = node?.isFolder && node.status === 'AVAILABLE' ? node : undefined;
    return { userId: link.ownerId, fileId: link.fileId, folder };
  }
}

/** Whether live `file` is now under live `folder` (same owner, path below it). */
function inside(file: FileNode, folder: FileNode): boolean {
  return file.ownerId === folder.ownerId && file.path.startsWith(folder.path === '/' ? '/' : `${folder.path}/`);
}

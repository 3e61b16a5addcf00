import DataLoader from 'dataloader';
import { In } from 'typeorm';
import { Chunk, FileNode, User, type Share, type ShareLink } from '../entities';
import { AppError } from '../services/errors';
import type { Principal } from '../services/auth';
import type { Services } from '../services';
import type { MountIndex } from '../services/mounts';

/** Per-request state: the caller, the services and request-scoped DataLoaders. */
export interface Context {
  principal: Principal | null;
  services: Services;
  loaders: Loaders;
  /** The client's address (rate limits). */
  ip?: string;
  /** This server's public base URL (PUBLIC_URL, else from the request's Host): absolute link URLs. */
  publicUrl?: string;
}

export interface Loaders {
  user: DataLoader<string, User | null>;
  /** Unauthorised raw loads: callers authorise (e.g. a share's file is readable by its owner and grantee). */
  file: DataLoader<string, FileNode | null>;
  /** All shares of a file (filter with sharing.visibleShares). */
  shares: DataLoader<string, Share[]>;
  /** Live public links of a file (filter with shareLinks.visibleLinks). */
  shareLinks: DataLoader<string, ShareLink[]>;
  /** A user's mounts (by user id): presents other owners' nodes at the user's paths. */
  mountIndex: DataLoader<string, MountIndex>;
  /** Chunks of a revision, by revision id, in order. */
  chunks: DataLoader<string, Chunk[]>;
  /** Part URLs this response may still mint (see MAX_PART_URLS_PER_RESPONSE), and the parts that got one. */
  partUrls: { left: number; granted: WeakSet<object> };
}

/**
 * Presigned part URLs one response may hold: a client that selects `url` on every part of a
 * 10,000-part session would otherwise make the server mint and hold them all at once. The rest
 * come from `refreshPartUrls`, which takes as many part numbers per call.
 */
export const MAX_PART_URLS_PER_RESPONSE = 1000;

export function createLoaders(services: Services): Loaders {
  return {
    user: new DataLoader(async (ids) => {
      const rows = await services.ds.getRepository(User).findBy({ id: In([...ids]) });
      return ids.map((id) => rows.find((u) => u.id === id) ?? null);
    }),
    file: new DataLoader(async (ids) => {
      const rows = await services.ds.getRepository(FileNode).findBy({ id: In([...ids]) });
      const byId = new Map(rows.map((f) => [f.id, f]));
      return ids.map((id) => byId.get(id) ?? null);
    }),
    shares: new DataLoader((ids) => services.sharing.sharesOf(ids)),
    mountIndex: new DataLoader((ids) => Promise.all(ids.map((id) => services.mounts.index(id)))),
    shareLinks: new DataLoader((ids) => services.shareLinks.linksOf(ids)),
    chunks: new DataLoader(async (ids) => {
      const rows = await services.ds.getRepository(Chunk).find({ where: { revisionId: In([...ids]) }, order: { index: 'ASC' } });
      const byRev = new Map<string, Chunk[]>();
      for (const c of rows) { const list = byRev.get(c.revisionId); if (list) list.push(c); else byRev.set(c.revisionId, [c]); }
      return ids.map((id) => byRev.get(id) ?? []);
    }),
    partUrls: { left: MAX_PART_URLS_PER_RESPONSE, granted: new WeakSet() },
  };
}

export function requireUser(ctx: Context): Principal {
  if (!ctx.principal) throw new AppError('UNAUTHENTICATED', 'sign in first');
  return ctx.principal;
}

/**
 * The store's side of completeUploads: every one-PUT object of a batch checked as declared
 * before its revision is written. Objects of one beginUploads call share a key prefix
 * (`batchStorageKey`), so where the store can list (`features.listObjects`) a batch costs one
 * listing per prefix (up to 1,000 objects a page) instead of one HEAD per file: the listing
 * reports, per object, the same size and ETag a HEAD does (the storage contract), so the check is
 * the same one. Other keys, and prefixes with few items to check, are HEADed.
 */
import type { UploadPart, UploadSession } from '../entities';
import { isStorageError } from '../storage/errors';
import { localAdapterOf } from '../storage/registry';
import type { ObjectInfo, StorageAdapter } from '../storage/types';
import { AppError } from './errors';

/** Store requests (HEADs, listings) in flight at once. */
const STORE_CONCURRENCY = 16;
/** Items under one batch prefix from which one listing is cheaper than their HEADs. */
const LIST_MIN_ITEMS = 4;

/** The key of a one-PUT object begun by a beginUploads call: one prefix per call (`batchId`). */
export function batchStorageKey(ownerId: string, batchId: string, sessionId: string): string {
  return `u/${ownerId}/b/${batchId}/${sessionId}`;
}

/** The batch prefix of a key made by batchStorageKey (`u/<owner>/b/<batch>/`); null for any other key. */
export function batchPrefixOf(key: string): string | null {
  return /^(u\/[^/]+\/b\/[^/]+\/)[^/]+$/.exec(key)?.[1] ?? null;
}

export interface ObjectToCheck {
  session: UploadSession;
  part: UploadPart;
  /** The ETag the client reported for the PUT, or null to take the recorded one. */
  etag: string | null;
}

/**
 * Checks each item's object: present, of the session's and the part's size, with the item's ETag
 * (when one is known), and on the local store with the declared bytes. Resolves with one entry per
 * item, in order: null when it holds (its part's `etag` is then set to the store's), else the coded
 * error for that item (PRECONDITION_FAILED; an object whose bytes are not the declared ones is
 * deleted and its session ended by `expire`, which releases its reservation). Rejects when the store fails otherwise (UNAVAILABLE, ...).
 */
export async function checkBatchObjects(
  storage: StorageAdapter, items: ObjectToCheck[], expire: (session: UploadSession) => Promise<void>,
): Promise<(AppError | null)[]> {
  const byPrefix = new Map<string, number>();
  if (storage.features.listObjects) {
    for (const t of items) {
      const p = batchPrefixOf(t.session.storageKey);
      if (p) byPrefix.set(p, (byPrefix.get(p) ?? 0) + 1);
    }
  }
  const prefixes = [...byPrefix].filter(([, n]) => n >= LIST_MIN_ITEMS).map(([p]) => p);
  const listed = new Map<string, ObjectInfo>();
  await eachLimited(prefixes, STORE_CONCURRENCY, async (p) => {
    for await (const o of storage.listObjects(p)) listed.set(o.key, o);
  });
  const isListed = new Set(prefixes);
  const out: (AppError | null)[] = new Array(items.length).fill(null);
  await eachLimited(items.map((t, i) => ({ t, i })), STORE_CONCURRENCY, async ({ t, i }) => {
    const prefix = batchPrefixOf(t.session.storageKey);
    const info = prefix && isListed.has(prefix) ? listed.get(t.session.storageKey) ?? null : await headOrNull(storage, t.session.storageKey);
    try {
      await checkObject(storage, t, info, expire);
    } catch (e) {
      if (!(e instanceof AppError)) throw e;
      out[i] = e;
    }
  });
  return out;
}

async function headOrNull(storage: StorageAdapter, key: string): Promise<ObjectInfo | null> {
  return storage.head(key).catch((e) => {
    if (isStorageError(e, 'NOT_FOUND')) return null;
    throw e;
  });
}

/** One object as declared (see checkBatchObjects); `info` is what the store reports of it, null if absent. */
async function checkObject(
  storage: StorageAdapter, { session, part, etag }: ObjectToCheck, info: ObjectInfo | null, expire: (session: UploadSession) => Promise<void>,
): Promise<void> {
  if (!info || info.size !== session.size || info.size !== part.size || (etag !== null && (info.etag ?? '') !== etag)) {
    throw new AppError('PRECONDITION_FAILED', '1 part(s) missing or not as declared', { missingParts: [1], sessionId: session.id });
  }
  part.etag = info.etag ?? '';
  const local = localAdapterOf(storage);
  if (local && !await local.verifyObject(session.storageKey, [{ offset: part.offset, size: part.size, sha256: part.sha256 }])) {
    await storage.delete(session.storageKey);
    await expire(session);
    throw new AppError('PRECONDITION_FAILED', 'the stored object does not match the declared size and parts; upload again', { sessionId: session.id });
  }
}

/** Runs `fn` over `items`, at most `limit` at once. */
export async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

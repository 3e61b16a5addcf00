import type { DataSource } from 'typeorm';
import type { StorageAdapter } from '../storage/types';
import { AccessService } from './access';
import { AuthService } from './auth';
import type { EventBus } from './events';
import { DownloadGrantService } from './download-grants';
import { FileService } from './files';
import { FolderZipService } from './folder-zip';
import { MountService } from './mounts';
import { Janitor } from './janitor';
import { JournalService } from './journal';
import { LiveService } from './live';
import { Retention } from './retention';
import { RevisionService } from './revisions';
import { TrashService } from './trash';
import { QuotaService } from './quota';
import { MemoryRateLimiter, type RateLimit, type RateLimiter } from './rate-limit';
import { ShareLinkService } from './share-links';
import { SharingService } from './sharing';
import { UploadService, type UploadSettings } from './uploads';
import { UploadBatchService } from './upload-batch';

export interface ServiceSettings extends UploadSettings {
  jwtSecret: string;
  downloadUrlTtl: number;
  /** Longest download URL lifetime, seconds (DOWNLOAD_URL_MAX_TTL; default 3600). */
  downloadUrlMaxTtl?: number;
  /** Storage quota of a user without their own `quotaBytes`. */
  defaultQuotaBytes?: number;
  /** Wrong passwords allowed per (email, IP) for signIn, and per (link, IP) for links, per window. */
  signInMaxFailures?: number;
  linkPasswordMaxFailures?: number;
  rateLimitWindowSeconds?: number;
  /** signUps per client address per window. */
  signUpMaxPerWindow?: number;
  /** Live feeds look at the journal at least this often (wake-ups may be lost). */
  livePollMs?: number;
  journalRetentionDays?: number;
  trashRetentionDays?: number;
  revisionRetentionDays?: number;
}

/** Every domain service, wired once per process. */
export interface Services {
  ds: DataSource;
  storage: StorageAdapter;
  bus: EventBus;
  auth: AuthService;
  access: AccessService;
  journal: JournalService;
  files: FileService;
  mounts: MountService;
  downloadGrants: DownloadGrantService;
  folderZips: FolderZipService;
  uploads: UploadService;
  uploadBatches: UploadBatchService;
  sharing: SharingService;
  shareLinks: ShareLinkService;
  quota: QuotaService;
  janitor: Janitor;
  live: LiveService;
  revisions: RevisionService;
  trash: TrashService;
  retention: Retention;
}

/** What a rate limiter counts: wrong sign-in passwords, wrong share-link passwords, sign-ups per client address. */
export type RateLimitName = 'signin' | 'link-password' | 'signup';

/** Makes the rate limiters; in process memory by default, shared through Redis when it is configured. */
export type RateLimiterFactory = (name: RateLimitName, limit: RateLimit) => RateLimiter;

export const memoryRateLimiters: RateLimiterFactory = (_name, limit) => new MemoryRateLimiter(limit);

/** 1 TiB unless DEFAULT_QUOTA_BYTES says otherwise. */
export const DEFAULT_QUOTA_BYTES = 1024 ** 4;

export function createServices(
  ds: DataSource, storage: StorageAdapter, bus: EventBus, s: ServiceSettings, rateLimiter: RateLimiterFactory = memoryRateLimiters,
): Services {
  const windowMs = (s.rateLimitWindowSeconds ?? 900) * 1000;
  const auth = new AuthService(ds, s.jwtSecret, undefined, rateLimiter('signin', { max: s.signInMaxFailures ?? 10, windowMs }), bus,
    rateLimiter('signup', { max: s.signUpMaxPerWindow ?? 20, windowMs }));
  const quota = new QuotaService(ds, s.defaultQuotaBytes ?? DEFAULT_QUOTA_BYTES);
  const access = new AccessService(ds);
  const journal = new JournalService(ds, bus);
  const mounts = new MountService(ds, journal);
  const files = new FileService(ds, storage, access, journal, mounts, s.downloadUrlTtl, s.downloadUrlMaxTtl);
  const downloadGrants = new DownloadGrantService(ds, access);
  const folderZips = new FolderZipService(ds, access, files, storage, s.jwtSecret);
  const uploads = new UploadService(ds, storage, access, files, journal, bus, {
    partUrlTtl: s.partUrlTtl, sessionTtl: s.sessionTtl, minPartSize: s.minPartSize, maxFileSize: s.maxFileSize,
  }, quota);
  const uploadBatches = new UploadBatchService(ds, storage, uploads, journal, bus, quota, s.sessionTtl);
  const sharing = new SharingService(ds, access, journal, mounts);
  const shareLinks = new ShareLinkService(ds, access, files, rateLimiter('link-password', { max: s.linkPasswordMaxFailures ?? 5, windowMs }), storage);
  const janitor = new Janitor(ds, storage, uploads);
  const live = new LiveService(ds, journal, bus, s.livePollMs);
  const revisions = new RevisionService(ds, access, journal);
  const trash = new TrashService(ds, storage, files, journal);
  const retention = new Retention(journal, trash, revisions, {
    journalDays: s.journalRetentionDays, trashDays: s.trashRetentionDays, revisionDays: s.revisionRetentionDays,
  });
  return { ds, storage, bus, auth, access, journal, files, mounts, downloadGrants, folderZips, uploads, uploadBatches, janitor, sharing, shareLinks, quota, live, revisions, trash, retention };
}

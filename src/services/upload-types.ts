import type { UploadPart, UploadSession } from '../entities';
import type { DeclaredPart, PlanSettings } from './upload-plan';
import type { PresignedPart } from './upload-store';

/** The upload service's inputs, views, limits and small helpers (uploads.ts, upload-batch.ts). */

/** A presigned part PUT (defined with the store side of uploads). */
export type { PresignedPart };

export interface BeginUploadInput {
  path: string;
  size: number;
  mimeType?: string | null;
  contentHash: string;
  parts: DeclaredPart[];
  baseRevision?: number | null;
  /** Upload into this folder (own or shared with the caller as EDITOR); `path` is then relative to it. */
  folderId?: string | null;
}


/** A part as the API shows it. */
export interface PartView {
  part: UploadPart;
  /** Mints the part's PUT on first call (memoised); null once verified, or where URLs are not handed out. */
  presigned(): Promise<PresignedPart | null>;
}

/** A session as the API shows it; parts are read only if asked for (a 50 GiB upload has 6,400). */
export interface SessionView {
  session: UploadSession;
  parts(): Promise<PartView[]>;
}

export interface UploadSettings extends Omit<PlanSettings, 'limits' | 'checksum' | 'singlePut'> {
  partUrlTtl: number;
  sessionTtl: number;
}

/** Sessions are the uploader's (an editor uploading into a shared folder, or the owner). */
export function uploaderOf(session: UploadSession): string {
  return session.uploaderId ?? session.ownerId;
}

/** Parts one confirmParts or completeUpload call confirms at most. */
export const MAX_CONFIRMED_PARTS = 10_000;

/** Part numbers one refreshPartUrls call takes at most (as many URLs as one response may hold). */
export const MAX_REFRESH_PARTS = 1000;

/** Parts one copyParts call copies at most. */
export const MAX_COPY_PARTS = 64;

/** `fn`, called at most once; later calls share the first call's promise. */
export function once<T>(fn: () => Promise<T>): () => Promise<T> {
  let p: Promise<T> | undefined;
  return () => (p ??= fn());
}

/** Wire types of the Tessera GraphQL API (BigInt fields arrive as decimal strings). */
export type BigIntString = string;

export type UploadStatus = 'ACTIVE' | 'COMPLETED' | 'ABORTED' | 'EXPIRED';
export type ChunkStatus = 'PENDING' | 'UPLOADED' | 'VERIFIED';
export type FileStatus = 'UPLOADING' | 'AVAILABLE' | 'DELETED';
export type PartChecksum = 'SHA256' | 'MD5' | 'NONE';

export interface User { id: string; email: string; name: string | null }
export interface Device { id: string; name: string | null }
/** A file or folder shared with `user` by `sharedBy`. */
export interface ShareInfo { id: string; role: 'VIEWER' | 'EDITOR'; user: User; sharedBy: User; createdAt: string }
/** An item of `sharedWithMe`: the node and the share that gives access to it. */
export interface SharedItem { file: FileInfo; share: { id: string; role: 'VIEWER' | 'EDITOR'; sharedBy: User } }
/** One immutable version of a file. */
export interface RevisionInfo { revision: number; size: BigIntString; contentHash: string; current: boolean; createdAt: string }
/** A device as `devices` lists it: `current` is the one asking; `revokedAt` is set once signed out; `lastSeenAt` to the minute. */
export interface DeviceInfo extends Device { createdAt: string; revokedAt: string | null; lastSeenAt: string | null; current: boolean }
export interface AuthPayload { token: string; user: User; device: Device }

export interface Chunk {
  index: number;
  offset: BigIntString;
  size: BigIntString;
  sha256: string;
  status: ChunkStatus;
}

/** A file or folder as the SDK's queries select it. */
export interface FileInfo {
  id: string;
  name: string;
  path: string;
  isFolder: boolean;
  size: BigIntString;
  mimeType: string | null;
  contentHash: string | null;
  status: FileStatus;
  revision: number;
  createdAt: string;
  updatedAt: string;
}

export interface FileWithChunks extends FileInfo {
  chunks: Chunk[];
  downloadUrl: string | null;
}

export interface PageInfo { hasNextPage: boolean; endCursor: string | null }
export interface FileConnection { edges: { cursor: string; node: FileInfo }[]; pageInfo: PageInfo }

export interface Header { name: string; value: string }

export interface PartUpload {
  partNumber: number;
  offset: BigIntString;
  size: BigIntString;
  sha256: string;
  status: ChunkStatus;
  url: string | null;
  method: string;
  headers: Header[];
  urlExpiresAt: string | null;
}

export interface UploadSession {
  id: string;
  path: string;
  size: BigIntString;
  partSize: BigIntString;
  contentHash: string;
  status: UploadStatus;
  parts: PartUpload[];
  expiresAt: string;
  file: FileInfo | null;
}

export interface UploadPlan {
  partSize: BigIntString;
  partCount: number;
  maxParts: number;
  minPartSize: BigIntString;
  maxSize: BigIntString;
  checksumAlgorithm: string;
  partChecksum: PartChecksum;
  /** The store takes a small file in one PUT (servers before this field: absent). */
  singlePut?: boolean;
}

export interface PartInput { partNumber: number; size: string; sha256: string; md5?: string }

export interface BeginUploadInput {
  path: string;
  size: string;
  mimeType?: string;
  contentHash: string;
  parts: PartInput[];
  baseRevision?: number;
}

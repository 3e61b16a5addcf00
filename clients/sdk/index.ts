/** Public entry point of the Tessera SDK. */
export { TesseraClient, type ClientOptions } from './client';
export { TesseraError, isTesseraError, isAbortError, type TesseraErrorCode, type ServerErrorCode, type ClientErrorCode } from './errors';
export { GraphQLTransport, type TransportOptions } from './graphql';
export {
  planParts, choosePartSize, contentHashOf, hashFileParts, hashFileRange, sha256Hex,
  MIB, MIN_PART_SIZE, MAX_PARTS, type PartSpan, type PartDigest, type FileDigest,
} from './hashing';
export { uploadFile, uploadSource, type UploadOptions, type UploadResult, type UploadSource, type PutResponse } from './upload';
export { downloadFile, PARTIAL_SUFFIX, type DownloadOptions, type DownloadResult } from './download';
export {
  DEFAULT_TREE_FILES, type TreeOptions, type TreeProgress, type TreeResult, type TreeFileResult, type TreeSkipped, type TreeFailure,
} from './tree';
export { uploadTree, type UploadTreeOptions, type UploadTreeResult } from './tree-upload';
export { downloadTree, type DownloadTreeOptions, type DownloadTreeResult } from './tree-download';
export { watchChanges, changesPage, latestCursor, type ChangeInfo, type ChangeKind, type ChangePage, type WatchOptions } from './changes';
export { withRetry, type RetryOptions } from './retry';
export type { TransferProgress, ProgressCallback } from './progress';
export type * from './types';

/** What upload and download report while they run. */
export interface TransferProgress {
  /** 'hash' while an upload hashes the local file, then 'upload' or 'download'. */
  phase: 'hash' | 'upload' | 'download';
  bytesDone: number;
  bytesTotal: number;
}

export type ProgressCallback = (p: TransferProgress) => void;

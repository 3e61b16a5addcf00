/** The shapes of a file's part digests (platform-neutral: no Node or browser import). */

/** One byte range of a file, as uploaded or downloaded. partNumber is 1-based. */
export interface PartSpan {
  partNumber: number;
  offset: number;
  size: number;
}

export interface PartDigest extends PartSpan {
  /** SHA-256 of the part, lowercase hex. */
  sha256: string;
  /** MD5 of the part, lowercase hex (only when asked for). */
  md5?: string;
}

export interface FileDigest {
  size: number;
  parts: PartDigest[];
  /** SHA-256 over the concatenated binary part digests, lowercase hex. */
  contentHash: string;
}

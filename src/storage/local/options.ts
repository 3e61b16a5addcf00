export interface LocalOptions {
  /** Directory holding objects, staged parts and temp files (created if missing). */
  root: string;
  /** HMAC key for presigned URLs; every server instance sharing `root` needs the same one. */
  signingSecret: string;
  /** Smallest non-last part, bytes (default 5 MiB; tests lower it). */
  minPartSize?: number;
  /** Where the server mounts `blobRoutes` (default '/blobs'); presigned URLs are relative to it. */
  urlPrefix?: string;
  /**
   * verifyObject re-reads and hashes objects up to this size (default 4 GiB: seconds, mostly
   * from the page cache); a larger object is checked by size only, its parts having been
   * hashed as they were written (re-reading 50 GiB would take minutes).
   */
  verifyMaxBytes?: number;
  /**
   * Encryption at rest (./envelope): master keys, 32 bytes each, the current one first (it
   * wraps every new data key; the others only unwrap, e.g. during a rotation). Without it
   * new files are written in plaintext and encrypted ones answer KEY_UNAVAILABLE.
   */
  encryption?: {
    keys: Buffer[];
    /** Plaintext bytes per segment of new files (default 64 KiB; tests lower it). */
    segmentSize?: number;
    /**
     * Objects without an envelope (written before encryption was on) are served as they are;
     * default false: such an object is CORRUPT (a stripped header is never served as bytes).
     */
    allowPlaintext?: boolean;
    /** false: new files are written in plaintext, the keys only read what is encrypted (encryption turned off). Default true. */
    write?: boolean;
  };
}

export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;
export const TiB = 1024 ** 4;

import { S3Client } from '@aws-sdk/client-s3';

/** How to reach the bucket. Credentials fall back to the SDK's default chain when absent. */
export interface S3Options {
  /** e.g. `http://127.0.0.1:7480` for RGW/MinIO; omit for AWS. */
  endpoint?: string;
  region: string;
  bucket: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Path-style URLs (`endpoint/bucket/key`); needed by most S3-compatible stores. */
  forcePathStyle?: boolean;
  /** Every key is stored under `prefix/`; keys handed back (e.g. by listMultipartUploads) are relative to it. */
  prefix?: string;
  /**
   * Server-side encryption asked of S3 on every object (S3_SSE, S3_SSE_KMS_KEY_ID): sent with
   * CreateMultipartUpload (parts and copies inherit it) and signed into single-PUT URLs.
   */
  sse?: S3Sse;
  /**
   * How a presigned part (or single-object) PUT binds the bytes the client promised (S3_PART_CHECKSUM):
   * 'SHA256' (default) signs the part's SHA-256 in as the request's payload hash
   * (`x-amz-content-sha256`), which a SigV4 store verifies against the body (RGW 16 refuses one that
   * differs: test/storage/s3-specific.test.ts), so clients need no MD5; 'MD5' binds `Content-MD5`
   * instead (clients send each part's MD5), for a store not known to verify a signed payload hash.
   */
  partChecksum?: 'SHA256' | 'MD5';
}

export interface S3Sse {
  algorithm: 'AES256' | 'aws:kms';
  /** aws:kms only; without it the bucket's / account's default KMS key. */
  kmsKeyId?: string;
}

/** The SSE request headers for `sse` (what a presigned PUT binds and the client sends). */
export function sseHeaders(sse: S3Sse | undefined): Record<string, string> {
  if (!sse) return {};
  const h: Record<string, string> = { 'x-amz-server-side-encryption': sse.algorithm };
  if (sse.algorithm === 'aws:kms' && sse.kmsKeyId) h['x-amz-server-side-encryption-aws-kms-key-id'] = sse.kmsKeyId;
  return h;
}

/** An S3 client for `options`, with checksums that S3-compatible stores (RGW 16) accept. */
export function createS3Client(options: S3Options): S3Client {
  const credentials =
    options.accessKeyId && options.secretAccessKey
      ? { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey }
      : undefined;
  return new S3Client({
    endpoint: options.endpoint,
    region: options.region,
    forcePathStyle: options.forcePathStyle,
    credentials,
    // the default flexible checksums (CRC32 trailers on streamed bodies) make RGW answer 411
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

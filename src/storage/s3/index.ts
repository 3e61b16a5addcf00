/** The S3 storage adapter (AWS S3 and S3-compatible stores such as Ceph RGW). */
export { S3StorageAdapter, S3_LIMITS } from './adapter';
export type { S3Options } from './options';
export { translateS3Error, type S3ErrorContext } from './errors';

import { createHash } from 'node:crypto';
import { PassThrough } from 'node:stream';
import type { Bucket } from '@google-cloud/storage';
import { StorageError } from '../errors';
import type { ByteRange, UploadedPart } from '../types';
import { translating } from './errors';
import { openReadStream } from './read';
import type { XmlMultipartClient } from './xml-multipart';

/**
 * UploadPartCopy for GCS, which has none: the byte range of the source's current generation
 * is read through the JSON API and streamed into the part PUT (bytes pass through this
 * server, in constant memory). The MD5 of what was sent is checked against the part's ETag.
 *
 * NO_SUCH_UPLOAD if the upload is unknown (checked before any bytes move), NOT_FOUND if the
 * source is missing, INVALID_RANGE if the range is not inside it.
 */
export async function copyRangeIntoPart(
  xml: XmlMultipartClient,
  bucket: Bucket,
  target: { name: string; uploadId: string; partNumber: number },
  source: { name: string; range: ByteRange },
): Promise<UploadedPart> {
  const { offset, length } = source.range;
  await translating(() => xml.listParts(target.name, target.uploadId, undefined, 1), 'NO_SUCH_UPLOAD');
  const [meta] = await translating(() => bucket.file(source.name).getMetadata());
  if (!(offset >= 0 && length > 0 && offset + length <= Number(meta.size))) {
    throw new StorageError('INVALID_RANGE', `gcs: range ${offset}+${length} outside the source (${meta.size} bytes)`);
  }
  // Pin the generation just measured, so a concurrent overwrite cannot change the bytes copied.
  const body = await openReadStream(bucket.file(source.name, { generation: meta.generation }), source.range);
  const md5 = createHash('md5');
  const tee = new PassThrough({ transform: (chunk, _enc, done) => (md5.update(chunk), done(null, chunk)) });
  body.on('error', (e) => tee.destroy(e));
  body.pipe(tee);
  const etag = await translating(() => xml.uploadPart(target.name, target.uploadId, target.partNumber, tee, length), 'NO_SUCH_UPLOAD');
  if (etag && etag !== md5.digest('hex')) throw new StorageError('BAD_DIGEST', 'gcs: copied part ETag differs from the MD5 of the bytes sent');
  return { partNumber: target.partNumber, etag, size: length };
}

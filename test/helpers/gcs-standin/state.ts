/** In-memory buckets, objects and multipart uploads of the GCS stand-in. */
import { createHash, randomBytes } from 'node:crypto';
import { crc32cBase64 } from './crc32c';

export interface StoredObject {
  name: string;
  data: Buffer;
  contentType: string;
  generation: number;
  /** Base64 MD5; absent for objects assembled by a multipart upload, as on GCS. */
  md5Hash?: string;
  crc32c: string;
  /** The XML API ETag (without quotes). */
  etag: string;
  componentCount?: number;
  created: Date;
  /** The Cloud KMS key the object is encrypted with (CMEK), as GCS reports it (with a key version). */
  kmsKeyName?: string;
}

export interface StoredPart {
  data: Buffer;
  etag: string;
  lastModified: Date;
}

export interface Upload {
  id: string;
  bucket: string;
  key: string;
  contentType: string;
  initiated: Date;
  parts: Map<number, StoredPart>;
  /** x-goog-encryption-kms-key-name of the initiate request. */
  kmsKeyName?: string;
}

export class StandinState {
  readonly buckets = new Map<string, Map<string, StoredObject>>();
  readonly uploads = new Map<string, Upload>();
  private generation = Date.now() * 1000;

  constructor(bucketNames: string[]) {
    for (const b of bucketNames) this.buckets.set(b, new Map());
  }

  putObject(bucket: string, name: string, data: Buffer, contentType: string, multipart?: { etag: string; parts: number; kmsKeyName?: string }): StoredObject {
    const md5 = createHash('md5').update(data).digest();
    const obj: StoredObject = {
      name,
      data,
      contentType,
      generation: ++this.generation,
      md5Hash: multipart ? undefined : md5.toString('base64'),
      crc32c: crc32cBase64(data),
      etag: multipart ? multipart.etag : md5.toString('hex'),
      componentCount: multipart?.parts,
      created: new Date(),
      kmsKeyName: multipart?.kmsKeyName ? `${multipart.kmsKeyName}/cryptoKeyVersions/1` : undefined,
    };
    this.buckets.get(bucket)!.set(name, obj);
    return obj;
  }

  createUpload(bucket: string, key: string, contentType: string, kmsKeyName?: string): Upload {
    const upload: Upload = { id: randomBytes(24).toString('base64url'), bucket, key, contentType, initiated: new Date(), parts: new Map(), kmsKeyName };
    this.uploads.set(upload.id, upload);
    return upload;
  }

  /** The upload, only if it belongs to this bucket and object name. */
  findUpload(bucket: string, key: string, id: string | null): Upload | undefined {
    const u = id ? this.uploads.get(id) : undefined;
    return u && u.bucket === bucket && u.key === key ? u : undefined;
  }
}

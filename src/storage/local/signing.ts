import { createHmac, timingSafeEqual } from 'node:crypto';
import { StorageError } from '../errors';
import type { ByteRange } from '../types';

/** What a signed part-PUT URL grants: one part of one upload, with its size and SHA-256. */
export interface PartClaims {
  key: string;
  uploadId: string;
  partNumber: number;
  size: number;
  sha256: string;
  /** Unix time, milliseconds. */
  expires: number;
}

/** What a signed GET URL grants: one object, optionally a range, file name, content type. */
export interface GetClaims {
  key: string;
  expires: number;
  range?: ByteRange;
  fileName?: string;
  contentType?: string;
  /** Opaque to the store: what the server minted the URL under, re-checked per request by it. */
  grant?: string;
}

const PART_FIELDS = ['key', 'upload', 'part', 'size', 'sha256', 'exp'] as const;
const GET_FIELDS = ['key', 'exp', 'off', 'len', 'fn', 'ct', 'g'] as const;

/**
 * HMAC-SHA256 URL signatures for the local store. The signature covers the method and
 * every query field (in a fixed order); it is compared in constant time. `verify*` throws
 * StorageError SIGNATURE_INVALID for a missing/forged/tampered signature and
 * SIGNATURE_EXPIRED for a genuine one past its expiry.
 */
export class UrlSigner {
  constructor(private readonly secret: string) {
    if (!secret) throw new StorageError('INTERNAL', 'local storage needs a signing secret');
  }

  signPart(c: PartClaims): string {
    return this.sign('PUT', PART_FIELDS, {
      key: c.key,
      upload: c.uploadId,
      part: String(c.partNumber),
      size: String(c.size),
      sha256: c.sha256,
      exp: String(c.expires),
    });
  }

  signGet(c: GetClaims): string {
    return this.sign('GET', GET_FIELDS, {
      key: c.key,
      exp: String(c.expires),
      off: c.range ? String(c.range.offset) : '',
      len: c.range ? String(c.range.length) : '',
      fn: c.fileName ?? '',
      ct: c.contentType ?? '',
      g: c.grant ?? '',
    });
  }

  verifyPart(query: URLSearchParams, now = Date.now()): PartClaims {
    const f = this.verify('PUT', PART_FIELDS, query, now);
    return {
      key: f.key,
      uploadId: f.upload,
      partNumber: int(f.part),
      size: int(f.size),
      sha256: f.sha256,
      expires: int(f.exp),
    };
  }

  verifyGet(query: URLSearchParams, now = Date.now()): GetClaims {
    const f = this.verify('GET', GET_FIELDS, query, now);
    return {
      key: f.key,
      expires: int(f.exp),
      range: f.off === '' ? undefined : { offset: int(f.off), length: int(f.len) },
      fileName: f.fn || undefined,
      contentType: f.ct || undefined,
      grant: f.g || undefined,
    };
  }

  private sign(method: string, fields: readonly string[], values: Record<string, string>): string {
    const q = new URLSearchParams();
    for (const name of fields) if (values[name] !== '') q.set(name, values[name]);
    q.set('sig', this.mac(method, fields, values));
    return q.toString();
  }

  private verify(method: string, fields: readonly string[], query: URLSearchParams, now: number) {
    const values: Record<string, string> = {};
    for (const name of fields) {
      if (query.getAll(name).length > 1) throw invalid();
      values[name] = query.get(name) ?? '';
    }
    const given = Buffer.from(query.get('sig') ?? '', 'base64url');
    const expected = Buffer.from(this.mac(method, fields, values), 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid();
    if (!(Number(values.exp) > now)) throw new StorageError('SIGNATURE_EXPIRED', 'signed URL has expired');
    return values;
  }

  private mac(method: string, fields: readonly string[], values: Record<string, string>): string {
    const canonical = [method, ...fields.map((name) => `${name}=${encodeURIComponent(values[name])}`)].join('\n');
    return createHmac('sha256', this.secret).update(canonical).digest('base64url');
  }
}

function int(s: string): number {
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n < 0) throw invalid();
  return n;
}

function invalid() {
  return new StorageError('SIGNATURE_INVALID', 'signed URL is invalid');
}

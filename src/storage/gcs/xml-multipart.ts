/**
 * GCS's XML API multipart uploads (https://cloud.google.com/storage/docs/multipart-uploads),
 * requested through the @google-cloud/storage client's own auth client so credentials,
 * token refresh and retries stay the library's. The library's XML helper is private and
 * hard-codes its host, so URLs are built here from the client's `apiEndpoint`.
 *
 * Every method rejects with a GcsXmlError (an XML `<Error>` document) or a transport error;
 * callers translate through ./errors.
 */
import type { Readable } from 'node:stream';
import type { Storage } from '@google-cloud/storage';
import type { MultipartUploadInfo, UploadedPart } from '../types';
import { unquoteEtag } from '../etag';
import { GcsXmlError } from './errors';
import { elements, escapeXml, text } from './xml';

/** RFC 3986 encoding of one path segment, as GCS canonicalises it. */
export function encodeSegment(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function objectPath(bucket: string, name: string): string {
  return `/${encodeSegment(bucket)}/${name.split('/').map(encodeSegment).join('/')}`;
}

export interface PartsPage {
  parts: UploadedPart[];
  nextMarker?: number;
}

export class XmlMultipartClient {
  constructor(
    private readonly storage: Storage,
    private readonly bucket: string,
  ) {}

  /** https://cloud.google.com/storage/docs/xml-api/post-object-multipart; with `kmsKeyName` the object is encrypted with that Cloud KMS key (CMEK). */
  async initiate(name: string, contentType?: string, kmsKeyName?: string): Promise<string> {
    const headers: Record<string, string> = { 'Content-Length': '0' };
    if (contentType) headers['Content-Type'] = contentType;
    if (kmsKeyName) headers['x-goog-encryption-kms-key-name'] = kmsKeyName;
    const body = await this.call('POST', objectPath(this.bucket, name), { uploads: '' }, { headers });
    const uploadId = text(body, 'UploadId');
    if (!uploadId) throw new GcsXmlError(502, 'MalformedResponse', 'no UploadId in InitiateMultipartUploadResult');
    return uploadId;
  }

  /** https://cloud.google.com/storage/docs/xml-api/put-object-multipart; returns the part's ETag. */
  async uploadPart(name: string, uploadId: string, partNumber: number, data: Readable, size: number): Promise<string> {
    const res = await this.send('PUT', objectPath(this.bucket, name), { partNumber: String(partNumber), uploadId }, {
      headers: { 'Content-Length': String(size), 'Content-Type': 'application/octet-stream' },
      data,
      retry: false,
    });
    return unquoteEtag(String(res.headers['etag'] ?? ''));
  }

  /** https://cloud.google.com/storage/docs/xml-api/get-object-multipart */
  async listParts(name: string, uploadId: string, marker?: number, maxParts?: number): Promise<PartsPage> {
    const query: Record<string, string> = { uploadId };
    if (marker !== undefined) query['part-number-marker'] = String(marker);
    if (maxParts !== undefined) query['max-parts'] = String(maxParts);
    const body = await this.call('GET', objectPath(this.bucket, name), query);
    const parts = elements(body, 'Part').map((p) => ({
      partNumber: Number(text(p, 'PartNumber')),
      etag: unquoteEtag(text(p, 'ETag') ?? ''),
      size: Number(text(p, 'Size')),
    }));
    const truncated = text(body, 'IsTruncated') === 'true';
    const next = Number(text(body, 'NextPartNumberMarker'));
    return { parts, nextMarker: truncated && next ? next : undefined };
  }

  /** https://cloud.google.com/storage/docs/xml-api/post-object-complete; returns the object's ETag. */
  async complete(name: string, uploadId: string, parts: { partNumber: number; etag: string }[]): Promise<string> {
    const xml =
      '<CompleteMultipartUpload>' +
      parts.map((p) => `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>"${escapeXml(unquoteEtag(p.etag))}"</ETag></Part>`).join('') +
      '</CompleteMultipartUpload>';
    const body = await this.call('POST', objectPath(this.bucket, name), { uploadId }, {
      headers: { 'Content-Type': 'application/xml' },
      data: xml,
      retry: false,
    });
    return unquoteEtag(text(body, 'ETag') ?? '');
  }

  /** https://cloud.google.com/storage/docs/xml-api/delete-multipart */
  async abort(name: string, uploadId: string): Promise<void> {
    await this.call('DELETE', objectPath(this.bucket, name), { uploadId });
  }

  /** https://cloud.google.com/storage/docs/xml-api/get-bucket-uploads, all pages. */
  async *listUploads(prefix: string): AsyncGenerator<MultipartUploadInfo> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const query: Record<string, string> = { uploads: '' };
      if (prefix) query.prefix = prefix;
      if (keyMarker !== undefined) query['key-marker'] = keyMarker;
      if (uploadIdMarker !== undefined) query['upload-id-marker'] = uploadIdMarker;
      const body = await this.call('GET', `/${encodeSegment(this.bucket)}`, query);
      for (const u of elements(body, 'Upload')) {
        yield { key: text(u, 'Key') ?? '', uploadId: text(u, 'UploadId') ?? '', initiated: new Date(text(u, 'Initiated') ?? 0) };
      }
      if (text(body, 'IsTruncated') !== 'true') return;
      keyMarker = text(body, 'NextKeyMarker');
      uploadIdMarker = text(body, 'NextUploadIdMarker');
      if (!keyMarker) return;
    }
  }

  private async call(method: string, path: string, query: Record<string, string>, opts: RequestExtras = {}): Promise<string> {
    const res = await this.send(method, path, query, opts);
    return res.data;
  }

  private async send(method: string, path: string, query: Record<string, string>, opts: RequestExtras) {
    const url = `${this.storage.apiEndpoint}${path}?${queryString(query)}`;
    const res = await this.storage.authClient.request<string>({
      url,
      method: method as 'GET',
      headers: opts.headers,
      data: opts.data,
      responseType: 'text',
      retry: opts.retry ?? method !== 'POST',
      validateStatus: () => true,
    });
    const body = typeof res.data === 'string' ? res.data : '';
    // A 200 may still carry an <Error> document (as S3 does for complete); treat it as an error.
    if (res.status >= 300 || /^(<\?xml[^>]*>)?\s*<Error[\s>]/.test(body)) {
      const status = res.status >= 300 ? res.status : 500;
      throw new GcsXmlError(status, text(body, 'Code') ?? `HTTP${status}`, text(body, 'Message') ?? `HTTP ${status} ${method} ${path}`);
    }
    return { ...res, data: body };
  }
}

interface RequestExtras {
  headers?: Record<string, string>;
  data?: string | Readable;
  retry?: boolean;
}

function queryString(query: Record<string, string>): string {
  return Object.entries(query)
    .map(([k, v]) => (v === '' ? encodeSegment(k) : `${encodeSegment(k)}=${encodeSegment(v)}`))
    .join('&');
}


/**
 * The XML API subset Tessera uses: multipart uploads and signed object GETs.
 * https://cloud.google.com/storage/docs/multipart-uploads
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { escapeXml, parseRange, readBody, sendXml, sendXmlError } from './http';
import type { StandinState, Upload } from './state';

const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';
const MIN_PART = 5 * 1024 * 1024;

type Ctx = { req: IncomingMessage; res: ServerResponse; url: URL; bucket: string; key: string; state: StandinState };

export async function handleXml(ctx: Ctx): Promise<void> {
  const { req, res, url, bucket, key, state } = ctx;
  const q = url.searchParams;
  const method = req.method ?? 'GET';
  if (!state.buckets.has(bucket)) return sendXmlError(res, 404, 'NoSuchBucket', 'The specified bucket does not exist.');
  if (!key) {
    if (method === 'GET' && q.has('uploads')) return listUploads(ctx);
    return sendXmlError(res, 501, 'NotImplemented', 'Not implemented by the stand-in.');
  }
  if (method === 'POST' && q.has('uploads')) return initiate(ctx);
  if (q.has('uploadId')) {
    const upload = state.findUpload(bucket, key, q.get('uploadId'));
    // https://cloud.google.com/storage/docs/xml-api/reference-status: NoSuchUpload is 404.
    if (!upload) return sendXmlError(res, 404, 'NoSuchUpload', 'The requested upload was not found.');
    if (method === 'PUT') return uploadPart(ctx, upload);
    if (method === 'GET') return listParts(ctx, upload);
    if (method === 'POST') return complete(ctx, upload);
    if (method === 'DELETE') {
      // https://cloud.google.com/storage/docs/xml-api/delete-multipart: 204 No Content.
      state.uploads.delete(upload.id);
      res.writeHead(204).end();
      return;
    }
  }
  if (method === 'GET' || method === 'HEAD') return getObject(ctx);
  sendXmlError(res, 501, 'NotImplemented', 'Not implemented by the stand-in.');
}

/**
 * https://cloud.google.com/storage/docs/xml-api/post-object-multipart; a CMEK named by
 * x-goog-encryption-kms-key-name (https://cloud.google.com/storage/docs/xml-api/reference-headers#xgoogencryptionkmskeyname)
 * must look like projects/P/locations/L/keyRings/R/cryptoKeys/K (else 400 InvalidArgument).
 */
function initiate({ req, res, bucket, key, state }: Ctx): void {
  const kms = req.headers['x-goog-encryption-kms-key-name'] as string | undefined;
  if (kms !== undefined && !/^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/.test(kms)) {
    return sendXmlError(res, 400, 'InvalidArgument', 'Invalid x-goog-encryption-kms-key-name.');
  }
  const u = state.createUpload(bucket, key, req.headers['content-type'] ?? 'application/octet-stream', kms);
  sendXml(res, 200, `<InitiateMultipartUploadResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${u.id}</UploadId></InitiateMultipartUploadResult>`);
}

/**
 * https://cloud.google.com/storage/docs/xml-api/put-object-multipart: part numbers 1..10000;
 * a Content-MD5 that does not match the body is 400 BadDigest, a malformed one 400 InvalidDigest
 * (https://cloud.google.com/storage/docs/xml-api/reference-headers#contentmd5). ETag = MD5 hex.
 */
async function uploadPart({ req, res, url }: Ctx, upload: Upload): Promise<void> {
  const n = Number(url.searchParams.get('partNumber'));
  if (!Number.isInteger(n) || n < 1 || n > 10000) return sendXmlError(res, 400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000.');
  const body = await readBody(req);
  const md5 = createHash('md5').update(body).digest();
  const claimed = req.headers['content-md5'] as string | undefined;
  if (claimed !== undefined) {
    if (!/^[A-Za-z0-9+/]{22}==$/.test(claimed)) return sendXmlError(res, 400, 'InvalidDigest', 'The Content-MD5 you specified is invalid.');
    if (claimed !== md5.toString('base64')) return sendXmlError(res, 400, 'BadDigest', 'The MD5 you specified did not match what was received.');
  }
  const etag = md5.toString('hex');
  upload.parts.set(n, { data: body, etag, lastModified: new Date() });
  res.writeHead(200, { ETag: `"${etag}"`, 'Content-Length': 0 }).end();
}

/** https://cloud.google.com/storage/docs/xml-api/get-object-multipart (part-number-marker, max-parts ≤ 1000). */
function listParts({ res, url, bucket, key }: Ctx, upload: Upload): void {
  const marker = Number(url.searchParams.get('part-number-marker') ?? 0);
  const max = Math.min(Number(url.searchParams.get('max-parts') ?? 1000) || 1000, 1000);
  const all = [...upload.parts.entries()].sort(([a], [b]) => a - b).filter(([n]) => n > marker);
  const page = all.slice(0, max);
  const truncated = all.length > max;
  const parts = page
    .map(([n, p]) => `<Part><PartNumber>${n}</PartNumber><LastModified>${p.lastModified.toISOString()}</LastModified><ETag>"${p.etag}"</ETag><Size>${p.data.length}</Size></Part>`)
    .join('');
  const next = truncated ? `<NextPartNumberMarker>${page[page.length - 1][0]}</NextPartNumberMarker>` : '';
  sendXml(
    res,
    200,
    `<ListPartsResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><Key>${escapeXml(key)}</Key><UploadId>${upload.id}</UploadId>` +
      `<PartNumberMarker>${marker}</PartNumberMarker>${next}<MaxParts>${max}</MaxParts><IsTruncated>${truncated}</IsTruncated>${parts}</ListPartsResult>`,
  );
}

/**
 * https://cloud.google.com/storage/docs/xml-api/post-object-complete: parts ascending
 * (InvalidPartOrder), each uploaded with that ETag (InvalidPart), every part but the last at
 * least 5 MiB (EntityTooSmall, https://cloud.google.com/storage/quotas#objects). The object has
 * no MD5, like GCS's composite objects; its ETag is the S3-style MD5 of the part MD5s plus "-N".
 */
async function complete({ req, res, bucket, key, state }: Ctx, upload: Upload): Promise<void> {
  const xml = (await readBody(req)).toString();
  const listed = [...xml.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
    n: Number(m[1].match(/<PartNumber>\s*(\d+)\s*<\/PartNumber>/)?.[1]),
    etag: (m[1].match(/<ETag>([\s\S]*?)<\/ETag>/)?.[1] ?? '').replace(/&quot;/g, '"').trim().replace(/^"|"$/g, ''),
  }));
  if (listed.length === 0) return sendXmlError(res, 400, 'MalformedXML', 'The XML you provided was not well-formed.');
  for (let i = 1; i < listed.length; i++) {
    if (!(listed[i].n > listed[i - 1].n)) return sendXmlError(res, 400, 'InvalidPartOrder', 'The list of parts was not in ascending order.');
  }
  const parts = listed.map(({ n, etag }) => ({ n, etag, part: upload.parts.get(n) }));
  const missing = parts.find((p) => !p.part || p.part.etag !== p.etag);
  if (missing) return sendXmlError(res, 400, 'InvalidPart', `One or more of the specified parts could not be found (part ${missing.n}).`);
  const small = parts.slice(0, -1).find((p) => p.part!.data.length < MIN_PART);
  if (small) return sendXmlError(res, 400, 'EntityTooSmall', `Part ${small.n} is smaller than the minimum allowed size.`);
  const digest = createHash('md5');
  for (const p of parts) digest.update(Buffer.from(p.etag, 'hex'));
  const etag = `${digest.digest('hex')}-${parts.length}`;
  state.putObject(bucket, key, Buffer.concat(parts.map((p) => p.part!.data)), upload.contentType, { etag, parts: parts.length, kmsKeyName: upload.kmsKeyName });
  state.uploads.delete(upload.id);
  sendXml(
    res,
    200,
    `<CompleteMultipartUploadResult ${NS}><Location>/${escapeXml(bucket)}/${escapeXml(key)}</Location><Bucket>${escapeXml(bucket)}</Bucket>` +
      `<Key>${escapeXml(key)}</Key><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`,
  );
}

/** https://cloud.google.com/storage/docs/xml-api/get-bucket-uploads (prefix, key-marker, upload-id-marker, max-uploads). */
function listUploads({ res, url, bucket, state }: Ctx): void {
  const q = url.searchParams;
  const prefix = q.get('prefix') ?? '';
  const keyMarker = q.get('key-marker') ?? '';
  const idMarker = q.get('upload-id-marker') ?? '';
  const max = Math.min(Number(q.get('max-uploads') ?? 1000) || 1000, 1000);
  const all = [...state.uploads.values()]
    .filter((u) => u.bucket === bucket && u.key.startsWith(prefix))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.id < b.id ? -1 : 1))
    .filter((u) => !keyMarker || u.key > keyMarker || (u.key === keyMarker && !!idMarker && u.id > idMarker));
  const page = all.slice(0, max);
  const truncated = all.length > max;
  const last = page[page.length - 1];
  const next = truncated ? `<NextKeyMarker>${escapeXml(last.key)}</NextKeyMarker><NextUploadIdMarker>${last.id}</NextUploadIdMarker>` : '';
  const uploads = page
    .map((u) => `<Upload><Key>${escapeXml(u.key)}</Key><UploadId>${u.id}</UploadId><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`)
    .join('');
  sendXml(
    res,
    200,
    `<ListMultipartUploadsResult ${NS}><Bucket>${escapeXml(bucket)}</Bucket><KeyMarker>${escapeXml(keyMarker)}</KeyMarker>` +
      `<UploadIdMarker>${escapeXml(idMarker)}</UploadIdMarker>${next}<Prefix>${escapeXml(prefix)}</Prefix><MaxUploads>${max}</MaxUploads>` +
      `<IsTruncated>${truncated}</IsTruncated>${uploads}</ListMultipartUploadsResult>`,
  );
}

/**
 * https://cloud.google.com/storage/docs/xml-api/get-object-download: Range (206 / 416
 * InvalidRange) and the response-content-disposition / response-content-type query overrides
 * (https://cloud.google.com/storage/docs/xml-api/reference-headers#responsecontentdisposition).
 */
function getObject({ req, res, url, bucket, key, state }: Ctx): void {
  const obj = state.buckets.get(bucket)!.get(key);
  if (!obj) return sendXmlError(res, 404, 'NoSuchKey', 'The specified key does not exist.');
  const range = parseRange(req.headers.range, obj.data.length);
  if (range === 'unsatisfiable') return sendXmlError(res, 416, 'InvalidRange', 'The requested range cannot be satisfied.');
  const q = url.searchParams;
  const body = range ? obj.data.subarray(range.start, range.end + 1) : obj.data;
  const headers: Record<string, string | number> = {
    'Content-Type': q.get('response-content-type') ?? obj.contentType,
    'Content-Length': body.length,
    ETag: `"${obj.etag}"`,
    'x-goog-generation': String(obj.generation),
    'x-goog-hash': `crc32c=${obj.crc32c}` + (obj.md5Hash ? `,md5=${obj.md5Hash}` : ''),
    'Accept-Ranges': 'bytes',
  };
  if (q.has('response-content-disposition')) headers['Content-Disposition'] = q.get('response-content-disposition')!;
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${obj.data.length}`;
  res.writeHead(range ? 206 : 200, headers);
  res.end(req.method === 'HEAD' ? undefined : body);
}

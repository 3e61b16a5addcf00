/**
 * The JSON API subset the @google-cloud/storage client uses for Tessera:
 * buckets.get, objects.get (metadata and `alt=media`), objects.delete.
 * https://cloud.google.com/storage/docs/json_api/v1
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseRange, sendJson, sendJsonError } from './http';
import type { StandinState, StoredObject } from './state';

type Ctx = { req: IncomingMessage; res: ServerResponse; url: URL; state: StandinState };

/** `path` is what follows /storage/v1 (or /download/storage/v1). */
export function handleJson(ctx: Ctx, path: string): void {
  const { req, res, url, state } = ctx;
  const m = path.match(/^\/b\/([^/]+)(?:\/o\/([^/]+))?\/?$/);
  if (!m) return sendJsonError(res, 404, 'notFound', 'Not Found');
  const bucket = decodeURIComponent(m[1]);
  const objects = state.buckets.get(bucket);
  // https://cloud.google.com/storage/docs/json_api/v1/buckets/get
  if (!objects) return sendJsonError(res, 404, 'notFound', 'The specified bucket does not exist.');
  if (m[2] === undefined) {
    if (req.method !== 'GET') return sendJsonError(res, 501, 'notImplemented', 'Not implemented by the stand-in.');
    return sendJson(res, 200, { kind: 'storage#bucket', id: bucket, name: bucket, location: 'US', storageClass: 'STANDARD' });
  }
  const name = decodeURIComponent(m[2]);
  const found = objects.get(name);
  const generation = url.searchParams.get('generation');
  const obj = found && (!generation || String(found.generation) === generation) ? found : undefined;
  if (!obj) return sendJsonError(res, 404, 'notFound', `No such object: ${bucket}/${name}`);
  if (req.method === 'DELETE') {
    // https://cloud.google.com/storage/docs/json_api/v1/objects/delete: 204, 404 if absent.
    objects.delete(name);
    res.writeHead(204).end();
    return;
  }
  if (req.method !== 'GET') return sendJsonError(res, 501, 'notImplemented', 'Not implemented by the stand-in.');
  if (url.searchParams.get('alt') === 'media') return media(res, req, obj);
  sendJson(res, 200, resource(bucket, obj));
}

/** https://cloud.google.com/storage/docs/json_api/v1/objects#resource */
function resource(bucket: string, o: StoredObject): Record<string, unknown> {
  return {
    kind: 'storage#object',
    id: `${bucket}/${o.name}/${o.generation}`,
    name: o.name,
    bucket,
    generation: String(o.generation),
    metageneration: '1',
    contentType: o.contentType,
    size: String(o.data.length),
    ...(o.md5Hash ? { md5Hash: o.md5Hash } : {}),
    crc32c: o.crc32c,
    ...(o.componentCount ? { componentCount: o.componentCount } : {}),
    ...(o.kmsKeyName ? { kmsKeyName: o.kmsKeyName } : {}),
    etag: Buffer.from(`${o.generation}/1`).toString('base64'),
    storageClass: 'STANDARD',
    timeCreated: o.created.toISOString(),
    updated: o.created.toISOString(),
  };
}

/**
 * https://cloud.google.com/storage/docs/json_api/v1/objects/get with alt=media, honouring
 * Range (https://cloud.google.com/storage/docs/json_api/v1/parameters#range); x-goog-hash
 * carries the whole object's hashes (https://cloud.google.com/storage/docs/xml-api/reference-headers#xgooghash).
 */
function media(res: ServerResponse, req: IncomingMessage, o: StoredObject): void {
  const range = parseRange(req.headers.range, o.data.length);
  if (range === 'unsatisfiable') return sendJsonError(res, 416, 'requestedRangeNotSatisfiable', 'Request range not satisfiable');
  const body = range ? o.data.subarray(range.start, range.end + 1) : o.data;
  const headers: Record<string, string | number> = {
    'Content-Type': o.contentType,
    'Content-Length': body.length,
    'x-goog-generation': String(o.generation),
    'x-goog-hash': `crc32c=${o.crc32c}` + (o.md5Hash ? `,md5=${o.md5Hash}` : ''),
    'x-goog-stored-content-encoding': 'identity',
  };
  if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${o.data.length}`;
  res.writeHead(range ? 206 : 200, headers);
  res.end(body);
}

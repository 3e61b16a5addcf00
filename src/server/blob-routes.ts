import express, { type Request, type Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { isStorageError, type StorageErrorCode } from '../storage/errors';
import type { LocalStorageAdapter } from '../storage/local';
import type { ByteRange } from '../storage/types';
import { safeMediaType } from '../services/media-type';

export interface BlobRouteOptions {
  /**
   * Asked on every GET/HEAD of an object, after the signature checked out, with the grant the
   * URL was signed with (undefined if none): false answers 403 ACCESS_DENIED. The server passes
   * a check against the database (DownloadGrantService), so a URL dies with the access it was
   * minted under; without this option (storage tests) a valid signature is enough.
   */
  allowGet?: (grant: string | undefined) => Promise<boolean>;
  /** A part upload whose connection moves no byte for this long is cut (nothing is stored); default 60 s. */
  idleTimeoutMs?: number;
}

/**
 * HTTP routes behind the local store's presigned URLs, relative to where the server mounts
 * them (`/blobs`):
 *
 *   PUT  /part?...    one part's bytes; 200 + `ETag: "<sha256>"`; 403 SIGNATURE_INVALID |
 *                     SIGNATURE_EXPIRED; 400 BAD_DIGEST (size/hash differ, nothing stored);
 *                     404 NO_SUCH_UPLOAD; a body idle for `idleTimeoutMs` is cut (nothing stored)
 *   GET  /object?...  an object (or HEAD), honouring `Range: bytes=a-b` within the signed
 *                     range; 206 + Content-Range, 416 when unsatisfiable; 404 NOT_FOUND;
 *                     403 ACCESS_DENIED when `allowGet` refuses the URL's grant
 *
 * Errors answer with a JSON body `{ code, message }`. CORS is open (the signature is the
 * credential) and exposes ETag so browsers can read it.
 */
export function blobRoutes(adapter: LocalStorageAdapter, opts: BlobRouteOptions = {}): express.Router {
  const router = express.Router();
  const idleMs = opts.idleTimeoutMs ?? 60_000;

  router.use((req, res, next) => {
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('X-Content-Type-Options', 'nosniff'); // a download is never rendered as what it is not declared as
    res.setHeader('Access-Control-Expose-Headers', 'ETag, Content-Length, Content-Range, Content-Disposition, Accept-Ranges');
    if (req.method !== 'OPTIONS') return next();
    res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, PUT, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', req.get('Access-Control-Request-Headers') ?? 'Content-Type, Range');
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  router.put('/part', async (req, res) => {
    // a client that promised more bytes than it sends (or went away silently) must not hold the request for ever
    req.setTimeout(idleMs, () => req.destroy(new Error(`part upload idle for ${idleMs} ms`)));
    try {
      const claims = adapter.verifyPartUrl(queryOf(req));
      const declared = req.get('content-length');
      if (declared !== undefined && Number(declared) !== claims.size) {
        return sendError(res, 'BAD_DIGEST', `Content-Length ${declared} differs from the signed size ${claims.size}`);
      }
      const part = await adapter.receivePart(claims.uploadId, claims.partNumber, claims.size, claims.sha256, req);
      res.setHeader('ETag', `"${part.etag}"`);
      res.status(200).json(part);
    } catch (e) {
      failed(res, e);
    }
  });

  router.get('/object', async (req, res) => {
    try {
      const claims = adapter.verifyGetUrl(queryOf(req));
      if (opts.allowGet && !(await opts.allowGet(claims.grant))) {
        return sendError(res, 'ACCESS_DENIED', 'the access this URL was issued under has ended');
      }
      const info = await adapter.head(claims.key);
      const window = claims.range ?? { offset: 0, length: info.size };
      if (window.offset + window.length > info.size) return unsatisfiable(res, info.size);
      const asked = parseRange(req.get('range'), info.size);
      if (asked === 'unsatisfiable') return unsatisfiable(res, info.size);
      const range = asked ? intersect(asked, window) : window;
      if (!range) return unsatisfiable(res, info.size);
      const partial = range.length > 0 && (range.length !== info.size || Boolean(asked) || Boolean(claims.range));

      res.status(partial ? 206 : 200);
      res.setHeader('Accept-Ranges', 'bytes');
      res.setHeader('Content-Type', safeMediaType(claims.contentType));
      res.setHeader('Content-Length', String(range.length));
      if (partial) res.setHeader('Content-Range', `bytes ${range.offset}-${range.offset + range.length - 1}/${info.size}`);
      if (info.etag) res.setHeader('ETag', `"${info.etag}"`);
      if (info.lastModified) res.setHeader('Last-Modified', info.lastModified.toUTCString());
      if (claims.fileName) res.setHeader('Content-Disposition', contentDisposition(claims.fileName));
      res.setHeader('Cache-Control', 'private, max-age=0');
      if (req.method === 'HEAD' || range.length === 0) return void res.end();

      const body = await adapter.getStream(claims.key, range);
      await pipeline(body, res).catch(() => res.destroy());
    } catch (e) {
      failed(res, e);
    }
  });

  return router;
}

const STATUS: Partial<Record<StorageErrorCode, number>> = {
  SIGNATURE_INVALID: 403,
  SIGNATURE_EXPIRED: 403,
  ACCESS_DENIED: 403,
  BAD_DIGEST: 400,
  INVALID_PART: 400,
  INVALID_KEY: 400,
  NOT_FOUND: 404,
  NO_SUCH_UPLOAD: 404,
  INVALID_RANGE: 416,
  PRECONDITION_FAILED: 412,
  UNAVAILABLE: 503,
  KEY_UNAVAILABLE: 503,
  CORRUPT: 500,
};

function failed(res: Response, e: unknown): void {
  if (res.headersSent) return void res.destroy();
  if (isStorageError(e)) return sendError(res, e.code, e.message);
  sendError(res, 'INTERNAL', 'internal error');
}

function sendError(res: Response, code: StorageErrorCode, message: string): void {
  // The request body may be unread (e.g. a refused part); don't keep the connection for it.
  res.setHeader('Connection', 'close');
  res.status(STATUS[code] ?? 500).json({ code, message });
}

function unsatisfiable(res: Response, size: number): void {
  res.setHeader('Content-Range', `bytes */${size}`);
  sendError(res, 'INVALID_RANGE', 'range not satisfiable');
}

function queryOf(req: Request): URLSearchParams {
  const url = req.originalUrl;
  const q = url.indexOf('?');
  return new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
}

/**
 * A single `bytes=` range (a-b, a-, -n) as offset/length; undefined when absent, malformed
 * or multi-range (then the whole representation is served, as RFC 9110 allows).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0) return 'unsatisfiable';
    const length = Math.min(suffix, size);
    return { offset: size - length, length };
  }
  const first = Number(m[1]);
  const last = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < first) return undefined;
  if (first >= size) return 'unsatisfiable';
  return { offset: first, length: last - first + 1 };
}

function intersect(a: ByteRange, b: ByteRange): ByteRange | undefined {
  const start = Math.max(a.offset, b.offset);
  const end = Math.min(a.offset + a.length, b.offset + b.length);
  return end > start ? { offset: start, length: end - start } : undefined;
}

/** `attachment` with an ASCII fallback and the exact name per RFC 5987/6266. */
export function contentDisposition(fileName: string): string {
  const fallback = fileName.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';

/**
 * HTTP errors outside the GraphQL pipeline (malformed or oversized bodies, unknown routes,
 * anything a route let through) answer JSON with a code, never Express's HTML page, and never a
 * stack trace or a path, whatever NODE_ENV is:
 *
 *   /graphql...   { errors: [{ message, extensions: { code } }] }  (what GraphQL clients read)
 *   elsewhere     { code, message }                              (as the blob routes answer)
 *
 * Codes: 400 BAD_USER_INPUT (malformed JSON, bad encoding), 413 PAYLOAD_TOO_LARGE, 404
 * NOT_FOUND, 500 INTERNAL (logged with the error; the client sees only "internal error").
 */
export function sendHttpError(req: Request, res: Response, status: number, code: string, message: string): void {
  if (res.headersSent) return void res.destroy();
  // a refused body may be unread: do not keep the connection for it
  if (status === 413 || status === 400) res.setHeader('Connection', 'close');
  res.removeHeader('Content-Disposition');
  res.status(status);
  if (req.path === '/graphql' || req.originalUrl.startsWith('/graphql')) res.json({ errors: [{ message, extensions: { code } }] });
  else res.json({ code, message });
}

/** The last route: whatever nothing else answered is NOT_FOUND. */
export const notFoundHandler: RequestHandler = (req, res) => sendHttpError(req, res, 404, 'NOT_FOUND', 'not found');

/** The last error handler (see `sendHttpError`): client errors by their status, everything else INTERNAL and logged. */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = (err ?? {}) as { status?: unknown; statusCode?: unknown; type?: unknown; expose?: unknown; limit?: unknown };
    const status = Number(e.status ?? e.statusCode);
    if (status === 413) return sendHttpError(req, res, 413, 'PAYLOAD_TOO_LARGE', `request body larger than ${typeof e.limit === 'number' ? `${e.limit} bytes` : 'the limit'}`);
    if (status >= 400 && status < 500) {
      const message = e.type === 'entity.parse.failed' ? 'malformed JSON body'
        : e.type === 'encoding.unsupported' || e.type === 'charset.unsupported' ? 'unsupported body encoding'
          : 'bad request';
      return sendHttpError(req, res, status, status === 404 ? 'NOT_FOUND' : 'BAD_USER_INPUT', message);
    }
    log.error({ err, method: req.method, url: req.originalUrl.split('?')[0] }, 'unexpected HTTP error');
    sendHttpError(req, res, 500, 'INTERNAL', 'internal error');
  };
}

import express, { type Request, type Response, type Router } from 'express';
import { AppError } from '../services/errors';
import { LinkError, type ShareLinkService } from '../services/share-links';

const STATUS = { NOT_FOUND: 404, EXPIRED: 410, PASSWORD_REQUIRED: 401, WRONG_PASSWORD: 403 } as const;

/**
 * Public links: `GET /s/<token>` answers 302 to a short-lived signed download URL (the store's
 * own, or this server's /blobs route for the local store). A password goes in the
 * `X-Share-Password` header, `?password=`, or a POST form field `password` (the 401 page
 * carries that form). 404 unknown/revoked link or file gone, 410 expired, 401 password needed,
 * 403 wrong password, 429 (with Retry-After) after too many wrong passwords.
 */
export function shareLinkRoutes(links: ShareLinkService): Router {
  const router = express.Router();
  const open = async (req: Request, res: Response, password: unknown) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    try {
      const url = await links.open(String(req.params.token), typeof password === 'string' ? password : null, req.ip ?? '');
      res.redirect(302, url);
    } catch (e) {
      if (e instanceof LinkError) {
        const status = STATUS[e.reason];
        if (e.reason === 'PASSWORD_REQUIRED' || e.reason === 'WRONG_PASSWORD') {
          res.status(status).type('html').send(passwordForm(e.reason === 'WRONG_PASSWORD'));
        } else {
          res.status(status).json({ error: { code: 'NOT_FOUND', reason: e.reason } });
        }
        return;
      }
      if (e instanceof AppError && e.code === 'RATE_LIMITED') {
        res.setHeader('Retry-After', String(e.extensions.retryAfterSeconds ?? 60));
        res.status(429).json({ error: { code: 'RATE_LIMITED', message: e.message } });
        return;
      }
      throw e;
    }
  };
  router.get('/s/:token', (req, res) => open(req, res, req.get('x-share-password') ?? req.query.password));
  router.post('/s/:token', express.urlencoded({ extended: false, limit: '8kb' }), (req, res) => open(req, res, req.get('x-share-password') ?? req.body?.password));
  return router;
}

function passwordForm(wrong: boolean): string {
  return `<!doctype html><meta charset="utf-8"><title>Password required</title>
<form method="post"><p>${wrong ? 'Wrong password. ' : ''}This link is protected by a password.</p>
<input type="password" name="password" autofocus required> <button>Open</button></form>`;
}

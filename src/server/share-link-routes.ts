import express, { type Request, type Response, type Router } from 'express';
import type { FileNode } from '../entities';
import { AppError } from '../services/errors';
import { LinkError, type OpenedLink, type ShareLinkService } from '../services/share-links';
import { esc, messagePage, page, sendPage } from './html-pages';
import { sendFolderZip } from './zip-response';

const STATUS = { NOT_FOUND: 404, EXPIRED: 410, PASSWORD_REQUIRED: 401, WRONG_PASSWORD: 403 } as const;

/**
 * Public links. A file link: `GET /s/<token>` answers 302 to a short-lived signed download URL
 * (the store's own, or this server's /blobs route for the local store). A folder link:
 * `GET /s/<token>` is an HTML page listing its files, each linking to `/s/<token>/f/<fileId>`
 * (302 as for a file link), and `/s/<token>/zip` streams them all as one zip (entries one after
 * another, straight from the store: memory stays constant whatever the folder's size).
 * A password goes in the `X-Share-Password` header, `?password=`, or a POST form field `password`
 * (the 401 page carries that form, and the listing page of a protected folder sends it back with
 * each download). 404 unknown/revoked link or file gone, 410 expired, 401 password needed,
 * 403 wrong password, 429 (with Retry-After) after too many wrong passwords. A browser (Accept
 * prefers text/html) gets an HTML page for each refusal (html-pages.ts: the password prompt, a
 * wrong password, an expired or unknown link, too many attempts); other clients get the password
 * form for 401/403 and JSON `{ error: { code, reason } }` otherwise. `X-Tessera-Reason` names it.
 */
export function shareLinkRoutes(links: ShareLinkService): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '8kb' });
  const passwordOf = (req: Request): string | null => {
    const p = req.get('x-share-password') ?? (req.method === 'POST' ? req.body?.password : req.query.password);
    return typeof p === 'string' ? p : null;
  };

  /** Runs `act` and turns link refusals into their status (and the password form). */
  const guarded = (act: (req: Request, res: Response, password: string | null) => Promise<void>) => async (req: Request, res: Response) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    try {
      await act(req, res, passwordOf(req));
    } catch (e) {
      if (res.headersSent) { res.destroy(e as Error); return; } // a zip cut short: the client sees a truncated download
      if (e instanceof LinkError) {
        res.setHeader('X-Tessera-Reason', e.reason);
        const status = STATUS[e.reason];
        if (e.reason === 'PASSWORD_REQUIRED' || e.reason === 'WRONG_PASSWORD') sendPage(res, status, passwordForm(e.reason === 'WRONG_PASSWORD'));
        else if (!wantsHtml(req)) res.status(status).json({ error: { code: 'NOT_FOUND', reason: e.reason } });
        else if (e.reason === 'EXPIRED') sendPage(res, status, messagePage('This link has expired', 'The person who shared it set an end date, and it has passed. Ask them for a new link.'));
        else sendPage(res, status, messagePage('Link not found', 'This link does not exist or was turned off by the person who shared it, or what it shared was removed. Check the address, or ask them for a new link.'));
        return;
      }
      if (e instanceof AppError && e.code === 'RATE_LIMITED') {
        res.setHeader('Retry-After', String(e.extensions.retryAfterSeconds ?? 60));
        if (!wantsHtml(req)) res.status(429).json({ error: { code: 'RATE_LIMITED', message: e.message } });
        else sendPage(res, 429, messagePage('Too many attempts', 'Too many wrong passwords were tried for this link. Please wait a few minutes and try again.'));
        return;
      }
      throw e;
    }
  };

  const root = guarded(async (req, res, password) => {
    const opened = await links.unlock(String(req.params.token), password, req.ip ?? '');
    if (!opened.node.isFolder) {
      res.redirect(302, await links.urlFor(opened));
      return;
    }
    sendPage(res, 200, listingPage(String(req.params.token), opened, await links.folderFiles(opened.node), password));
  });
  const file = guarded(async (req, res, password) => {
    res.redirect(302, await links.open(String(req.params.token), password, req.ip ?? '', String(req.params.fileId)));
  });
  const zip = guarded(async (req, res, password) => {
    const { node } = await links.unlock(String(req.params.token), password, req.ip ?? '');
    if (!node.isFolder) throw new LinkError('NOT_FOUND');
    await sendFolderZip(res, node, await links.folderFiles(node), (f) => links.content(f));
  });

  router.get('/s/:token', root);
  router.post('/s/:token', form, root);
  router.get('/s/:token/zip', zip);
  router.post('/s/:token/zip', form, zip);
  router.get('/s/:token/f/:fileId', file);
  router.post('/s/:token/f/:fileId', form, file);
  return router;
}

function listingPage(token: string, { node }: OpenedLink, files: FileNode[], password: string | null): string {
  const base = `/s/${encodeURIComponent(token)}`;
  const prefix = node.path === '/' ? '/' : `${node.path}/`;
  const hidden = password ? `<input type="hidden" name="password" value="${esc(password)}">` : '';
  // with a password, each download is a small POST form carrying it (never in a URL)
  const open = (href: string, label: string) => (password
    ? `<form class="inline" method="post" action="${href}">${hidden}<button>${esc(label)}</button></form>`
    : `<a href="${href}">${esc(label)}</a>`);
  const rows = files.map((f) => `<tr><td>${open(`${base}/f/${encodeURIComponent(f.id)}`, f.path.slice(prefix.length))}</td><td class="num">${formatSize(Number(f.size))}</td></tr>`).join('\n');
  const title = node.path === '/' ? 'Shared files' : node.name;
  return page(title, `<h1>${esc(title)}</h1>
<p>${files.length} file${files.length === 1 ? '' : 's'} · ${open(`${base}/zip`, 'Download all (zip)')}</p>
<table>
${rows}
</table>`);
}

function passwordForm(wrong: boolean): string {
  return page(wrong ? 'Wrong password' : 'Password required', `<h1>${wrong ? 'Wrong password' : 'Password required'}</h1>
${wrong ? '<p class="error" role="alert">Wrong password. Please try again.</p>' : ''}
<form method="post"><p>This link is protected by a password.</p>
<label>Password <input type="password" name="password" autofocus required></label> <button>Open</button></form>`);
}

/** A browser navigating here (Accept prefers HTML), not an API client (Accept absent or *\/*). */
function wantsHtml(req: Request): boolean {
  return req.accepts(['json', 'html']) === 'html';
}

function formatSize(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

import crypto from 'node:crypto';
import type { Response } from 'express';

/**
 * The server's own small HTML pages for a person (public links, zip downloads): a link's
 * password prompt, a wrong password, an expired or unknown link, a folder's listing. Never raw
 * JSON for a browser. Each page carries a Content Security Policy that allows nothing but its
 * one inline style (by hash): no script at all.
 */
const STYLE = `body{font:15px/1.5 system-ui,sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
main{max-width:640px;margin:10vh auto;background:#fff;border-radius:10px;padding:28px 32px;box-shadow:0 2px 12px #0002}
h1{font-size:22px;margin:0 0 12px}.brand{color:#2f6fed;font-weight:700;letter-spacing:.02em}
p.error{color:#b42318}.muted{color:#667085}input{font:inherit;padding:6px 10px;border:1px solid #c8ccd4;border-radius:6px}
button,a.button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid #2f6fed;background:#2f6fed;color:#fff;cursor:pointer;text-decoration:none}
form.inline{display:inline}form.inline button{background:none;color:#2f6fed;border:none;padding:0;text-decoration:underline}
table{border-collapse:collapse;width:100%;margin-top:12px}td{padding:6px 4px;border-top:1px solid #eaecf0}td.num{text-align:right;white-space:nowrap}
@media (max-width:600px){main{margin:0;border-radius:0;min-height:100vh;padding:20px}}`;

/** No form-action: a link's password form answers with a redirect to the store (S3, GCS: another origin), which form-action would block. */
export const PAGE_CSP = `default-src 'none'; style-src 'sha256-${crypto.createHash('sha256').update(STYLE).digest('base64')}'; base-uri 'none'; frame-ancestors 'none'`;

/** A whole page: `body` is HTML already escaped by the caller. */
export function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · Tessera</title><style>${STYLE}</style></head>
<body><main><div class="brand">Tessera</div>
${body}
</main></body></html>`;
}

/** Sends `html` with `status` and the pages' CSP. */
export function sendPage(res: Response, status: number, html: string): void {
  res.setHeader('Content-Security-Policy', PAGE_CSP);
  res.status(status).type('html').send(html);
}

/** A page that says what went wrong and what to do, in a sentence. */
export function messagePage(title: string, sentence: string): string {
  return page(title, `<h1>${esc(title)}</h1><p>${esc(sentence)}</p><p class="muted"><a href="/">Go to Tessera</a></p>`);
}

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

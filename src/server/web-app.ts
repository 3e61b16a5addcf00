/**
 * The browser app (clients/web, built by `npm run build:web` into dist/web) served at `/`.
 *
 * - Files under dist/web are served as they are; hashed assets (dist/web/assets) are cached
 *   for a year, index.html never.
 * - The app's own routes (/, /files and everything under it, /shared, /trash, /devices) get
 *   index.html, so a folder's URL (/files/Photos) survives a reload. Every other path falls
 *   through to the JSON 404 as before; /graphql, /blobs and /s/ are mounted before this router.
 * - Every page carries a Content Security Policy without inline scripts and without
 *   third-party script origins; `connect-src` allows http(s) because the parts of an upload
 *   go straight to the store's presigned URLs (S3, GCS), which live on another origin.
 * - When the app is not built, `/` answers a short HTML page saying how to build it.
 */
import fs from 'node:fs';
import path from 'node:path';
import express, { type Router } from 'express';

/** dist/web at the project root (the nearest folder with a package.json), from src/server (tests) and dist/src/server (built) alike. */
export const DEFAULT_WEB_DIR = path.join(projectRoot(__dirname), 'dist', 'web');

function projectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '..', '..');
  }
}

export const WEB_APP_CSP = [
  "default-src 'self'",
  // hash-wasm instantiates WebAssembly from bytes it carries
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self' http: https: ws: wss:",
  "object-src 'none'",
  "base-uri 'self'",
  "frame-ancestors 'none'",
  "form-action 'self'",
].join('; ');

/** Routes serving the app from `dir` (default DEFAULT_WEB_DIR, or TESSERA_WEB_DIR). */
export function webAppRouter(dir = process.env.TESSERA_WEB_DIR || DEFAULT_WEB_DIR): Router {
  const router = express.Router();
  const index = path.join(dir, 'index.html');
  router.use((req, res, next) => {
    if (req.method === 'GET' || req.method === 'HEAD') res.setHeader('Content-Security-Policy', WEB_APP_CSP);
    next();
  });
  router.use('/assets', express.static(path.join(dir, 'assets'), { immutable: true, maxAge: '365d', index: false, fallthrough: true }));
  router.use(express.static(dir, { index: false, maxAge: 0 }));
  router.get(['/', '/files', '/files/{*path}', '/shared', '/trash', '/devices'], (req, res, next) => {
    if (!req.accepts('html')) return next();
    if (!fs.existsSync(index)) {
      res.status(503).type('html').send(NOT_BUILT);
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}

const NOT_BUILT = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tessera</title></head>
<body><h1>Tessera</h1><p>The web app is not built. Run <code>npm run build</code> (or <code>npm start</code>), then reload this page.
The GraphQL API and its explorer are at <a href="/graphql">/graphql</a>.</p></body></html>`;

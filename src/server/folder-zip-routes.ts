import express, { type Router } from 'express';
import { AppError } from '../services/errors';
import type { FolderZipService } from '../services/folder-zip';
import { messagePage, sendPage } from './html-pages';
import { sendFolderZip } from './zip-response';

/**
 * `GET /zip/<token>`: a signed-in user's folder as one zip (token from `File.zipUrl`; access
 * checked again when opened: services/folder-zip.ts). A refused or expired token answers a 404
 * HTML page, the same for every reason (nothing tells whether the folder exists).
 */
export function folderZipRoutes(zips: FolderZipService): Router {
  const router = express.Router();
  router.get('/zip/:token', async (req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Referrer-Policy', 'no-referrer');
    try {
      const { folder, files } = await zips.open(String(req.params.token));
      await sendFolderZip(res, folder, files, (f) => zips.content(f));
    } catch (e) {
      if (res.headersSent) { res.destroy(e as Error); return; }
      if (e instanceof AppError && e.code === 'NOT_FOUND') {
        sendPage(res, 404, messagePage('Download not available', 'This download link has expired or is no longer yours to open. Go back to Tessera and download the folder again.'));
        return;
      }
      next(e);
    }
  });
  return router;
}

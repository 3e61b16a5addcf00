import type { Readable } from 'node:stream';
import type { Response } from 'express';
import ZipStream from 'zip-stream';
import type { FileNode } from '../entities';

/**
 * Streams `files` (all under `folder`) as `<folder name>.zip`, one entry after another straight
 * from the store, each entry named by its path below the folder: memory stays constant whatever
 * the folder's size, and a slow client slows the reads (backpressure). Entries are stored, not
 * deflated (media is compressed already, and the CPU stays free). A failure after the first
 * byte destroys the response (the client sees a truncated download, never a wrong one).
 */
export async function sendFolderZip(res: Response, folder: FileNode, files: FileNode[], content: (f: FileNode) => Promise<Readable>, name = folder.name): Promise<void> {
  const zipName = folder.path === '/' ? 'tessera' : name;
  res.status(200).type('application/zip');
  res.setHeader('Content-Disposition', `attachment; filename="${asciiName(zipName)}.zip"; filename*=UTF-8''${encodeURIComponent(zipName)}.zip`);
  const archive = new ZipStream({ store: true });
  archive.pipe(res);
  const prefix = folder.path === '/' ? '/' : `${folder.path}/`;
  for (const f of files) {
    if (res.destroyed) return;
    const source = await content(f);
    await new Promise<void>((resolve, reject) => {
      archive.entry(source, { name: f.path.slice(prefix.length), date: f.updatedAt }, (err) => (err ? reject(err) : resolve()));
    });
  }
  archive.finish();
  await new Promise<void>((resolve, reject) => {
    res.on('finish', resolve);
    res.on('close', resolve);
    archive.on('error', reject);
  });
}

export function asciiName(s: string): string {
  return s.replace(/[^\x20-\x7e]|["\\]/g, '_');
}

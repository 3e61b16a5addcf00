/** Lists a remote folder tree through listFolder's paging, a few folders at a time. */
import type { TesseraClient } from './client';
import { runPool } from './pool';
import type { FileInfo, FileWithChunks } from './types';

export interface RemoteEntry {
  /** Relative to the root, '/'-separated ('' is the root folder). */
  rel: string;
  /** With chunks and a download URL when listed for a download. */
  file: FileInfo & Partial<Pick<FileWithChunks, 'chunks' | 'downloadUrl'>>;
}

export interface RemoteTree {
  /** Parents before children (the root is not listed). */
  folders: RemoteEntry[];
  files: RemoteEntry[];
}

/** Folders listed at once. */
const LISTINGS_AT_ONCE = 4;

/**
 * Every folder and file under `root`; `forDownload`: files come with their chunks and a
 * download URL (see `listFolderForDownload`). Rejects as listFolder does (NOT_FOUND for a missing root).
 */
export async function listRemoteTree(client: TesseraClient, root: string, signal?: AbortSignal, forDownload = false): Promise<RemoteTree> {
  const tree: RemoteTree = { folders: [], files: [] };
  let level: { rel: string; path: string }[] = [{ rel: '', path: root }];
  while (level.length > 0) {
    const next: { rel: string; path: string }[] = [];
    const listed: RemoteEntry[][] = new Array(level.length);
    await runPool(level.map((f, i) => ({ ...f, i })), LISTINGS_AT_ONCE, async (folder) => {
      const children = forDownload ? await client.listFolderForDownload(folder.path) : await client.listFolder(folder.path, { pageSize: 1000 });
      listed[folder.i] = children.map((file) => ({ rel: folder.rel ? `${folder.rel}/${file.name}` : file.name, file }));
    }, signal);
    for (const entry of listed.flat()) {
      if (entry.file.isFolder) {
        tree.folders.push(entry);
        next.push({ rel: entry.rel, path: entry.file.path });
      } else {
        tree.files.push(entry);
      }
    }
    level = next;
  }
  return tree;
}

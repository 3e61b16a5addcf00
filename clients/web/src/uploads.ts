/**
 * The upload queue behind the upload panel: each picked or dropped file becomes one entry,
 * uploaded through the SDK's protocol core (browser-upload.ts), a few files at a time.
 * Progress is per file (hash, then upload) and overall; cancel aborts one file.
 */
import { useCallback, useRef, useState } from 'react';
import { api, errorText, joinPath } from './api';
import { uploadBrowserFile } from './browser-upload';

export interface UploadEntry {
  id: number;
  name: string;
  path: string;
  total: number;
  done: number;
  phase: 'queued' | 'hash' | 'upload' | 'done' | 'error' | 'cancelled';
  error?: string;
  deduplicated?: boolean;
  started: number;
}

/** A file and the folder path (relative, '/'-separated, may be '') it was dropped in. */
export interface PickedFile { file: File; dir: string }

const FILES_AT_ONCE = 3;

export function useUploads(onFileDone: () => void) {
  const [entries, setEntries] = useState<UploadEntry[]>([]);
  const controllers = useRef(new Map<number, AbortController>());
  const queue = useRef<{ id: number; file: File; path: string; folderId?: string }[]>([]);
  const running = useRef(0);
  const nextId = useRef(1);

  const patch = useCallback((id: number, p: Partial<UploadEntry>) => {
    setEntries((all) => all.map((e) => (e.id === id ? { ...e, ...p } : e)));
  }, []);

  const pump = useCallback(() => {
    while (running.current < FILES_AT_ONCE && queue.current.length > 0) {
      const job = queue.current.shift()!;
      const ctl = new AbortController();
      controllers.current.set(job.id, ctl);
      running.current++;
      patch(job.id, { phase: 'hash', started: Date.now() });
      uploadBrowserFile(api, job.file, job.path, {
        signal: ctl.signal,
        folderId: job.folderId,
        onProgress: (p) => patch(job.id, { phase: p.phase === 'hash' ? 'hash' : 'upload', done: p.phase === 'hash' ? 0 : p.bytesDone }),
      }).then((r) => {
        patch(job.id, { phase: 'done', done: job.file.size, deduplicated: r.deduplicated });
        onFileDone();
      }, (e) => {
        patch(job.id, ctl.signal.aborted ? { phase: 'cancelled' } : { phase: 'error', error: errorText(e) });
      }).finally(() => {
        controllers.current.delete(job.id);
        running.current--;
        pump();
      });
    }
  }, [patch, onFileDone]);

  /**
   * Queues `files` for upload into `folder` (keeping each one's relative folder); with
   * `folderId` (a folder shared with this user as editor) `folder` is relative to that one.
   */
  const add = useCallback((files: PickedFile[], folder: string, folderId?: string) => {
    const added: UploadEntry[] = files.map(({ file, dir }) => {
      const id = nextId.current++;
      const path = joinPath(dir ? joinPath(folder, dir) : folder, file.name);
      queue.current.push({ id, file, path, folderId });
      return { id, name: dir ? `${dir}/${file.name}` : file.name, path, total: file.size, done: 0, phase: 'queued', started: Date.now() };
    });
    setEntries((all) => [...all, ...added]);
    pump();
  }, [pump]);

  const cancel = useCallback((id: number) => {
    const queued = queue.current.findIndex((j) => j.id === id);
    if (queued >= 0) { queue.current.splice(queued, 1); patch(id, { phase: 'cancelled' }); }
    controllers.current.get(id)?.abort(new DOMException('cancelled', 'AbortError'));
  }, [patch]);

  const clear = useCallback(() => setEntries((all) => all.filter((e) => e.phase !== 'done' && e.phase !== 'cancelled' && e.phase !== 'error')), []);

  return { entries, add, cancel, clear };
}

/** Every file under the dropped items, folders walked (webkitGetAsEntry), with its relative folder. */
export async function droppedFiles(data: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(data.items).map((i) => i.webkitGetAsEntry?.()).filter((e): e is FileSystemEntry => !!e);
  // no entries (a browser without the entries API): the plain files, folders left out
  if (entries.length === 0) return Array.from(data.files).map((file) => ({ file, dir: '' }));
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, dir: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
      out.push({ file, dir });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      const sub = dir ? `${dir}/${entry.name}` : entry.name;
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
        if (batch.length === 0) break;
        for (const e of batch) await walk(e, sub);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

/** Files from an <input type=file> (webkitdirectory gives each one's relative path). */
export function pickedFiles(list: FileList): PickedFile[] {
  return Array.from(list).map((file) => {
    const rel = file.webkitRelativePath || '';
    const i = rel.lastIndexOf('/');
    return { file, dir: i > 0 ? rel.slice(0, i) : '' };
  });
}

/**
 * The upload queue behind the upload panel: each picked or dropped file becomes one entry,
 * uploaded through the SDK's protocol core (browser-upload.ts), a few files at a time.
 * Progress is per file (hash, then upload) and overall; pause, resume and cancel act on one
 * file; unfinished uploads survive a reload (pending-store.ts).
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { api, errorText, joinPath } from './api';
import { uploadBrowserFile } from './browser-upload';
import { allPending, dropPending, fileKey, savePending } from './pending-store';
import type { OwnSessions } from './remote-uploads';

export interface UploadEntry {
  id: number;
  /** The file's fingerprint (pending-store.ts). */
  key: string;
  name: string;
  path: string;
  total: number;
  done: number;
  /** interrupted: remembered from before a reload; the person picks the file again to resume. */
  phase: 'queued' | 'hash' | 'upload' | 'done' | 'error' | 'cancelled' | 'paused' | 'interrupted';
  error?: string;
  deduplicated?: boolean;
  /** Parts sent by this page (not those the server already had). */
  partsSent?: number;
  started: number;
  /** The server's upload session of an interrupted upload (from pending-store.ts). */
  sessionId?: string;
}

/** A file and the folder path (relative, '/'-separated, may be '') it was dropped in. */
export interface PickedFile { file: File; dir: string }

interface Job { id: number; key: string; file: File; path: string; folderId?: string; sessionId?: string }

/** Ends a server upload session: its staged parts are dropped and its quota reservation released. */
function abortSession(sessionId: string | undefined): void {
  if (sessionId) void api.request('mutation($id: ID!) { abortUpload(sessionId: $id) }', { id: sessionId }).catch(() => undefined);
}

const FILES_AT_ONCE = 3;
const ACTIVE = new Set<UploadEntry['phase']>(['queued', 'hash', 'upload']);
export const isActive = (e: UploadEntry) => ACTIVE.has(e.phase);

export function useUploads(onFileDone: () => void) {
  const [entries, setEntries] = useState<UploadEntry[]>([]);
  const controllers = useRef(new Map<number, AbortController>());
  const jobs = useRef(new Map<number, Job>());
  const queue = useRef<Job[]>([]);
  const running = useRef(0);
  const nextId = useRef(1);
  /** Upload sessions this page began or remembers (the other devices' list leaves them out). */
  const ownSessions = useRef(new Set<string>());
  /** Paths of this page's uploads whose beginUpload is in flight (job id -> path): their session is not named yet. */
  const beginning = useRef(new Map<number, string>());
  const ownListeners = useRef(new Set<() => void>());
  const ownChanged = useCallback(() => { for (const l of ownListeners.current) l(); }, []);
  const settleBegin = useCallback((id: number) => {
    if (beginning.current.delete(id)) ownChanged();
  }, [ownChanged]);

  const patch = useCallback((id: number, p: Partial<UploadEntry>) => {
    setEntries((all) => all.map((e) => (e.id === id ? { ...e, ...p } : e)));
  }, []);

  // what a reload interrupted: listed until the same file is picked again (or dismissed)
  useEffect(() => {
    void allPending().then((pending) => {
      if (pending.length === 0) return;
      for (const p of pending) if (p.sessionId) ownSessions.current.add(p.sessionId);
      ownChanged();
      setEntries((all) => [...all, ...pending.filter((p) => !all.some((e) => e.key === p.key)).map((p) => ({
        id: nextId.current++, key: p.key, name: p.name, path: p.path, total: p.size, done: 0, phase: 'interrupted' as const, started: p.savedAt, sessionId: p.sessionId,
      }))]);
    });
  }, [ownChanged]);

  const pump = useCallback(() => {
    while (running.current < FILES_AT_ONCE && queue.current.length > 0) {
      const job = queue.current.shift()!;
      const ctl = new AbortController();
      controllers.current.set(job.id, ctl);
      running.current++;
      let partsSent = 0;
      patch(job.id, { phase: 'hash', started: Date.now() });
      uploadBrowserFile(api, job.file, job.path, {
        signal: ctl.signal,
        folderId: job.folderId,
        // each part confirmed as soon as it is stored: a reload loses no part already sent
        confirmBatchSize: 1,
        onPlanned: () => {
          beginning.current.set(job.id, job.path);
          void savePending({ key: job.key, name: job.file.name, size: job.file.size, lastModified: job.file.lastModified, path: job.path, folderId: job.folderId, savedAt: Date.now() });
        },
        onSession: (sessionId) => {
          ownSessions.current.add(sessionId);
          beginning.current.delete(job.id);
          ownChanged();
          // cancelled while beginUpload was in flight: the session it began is aborted at once
          if (ctl.signal.aborted && (ctl.signal.reason as Error)?.message === 'cancelled') return abortSession(sessionId);
          job.sessionId = sessionId;
          void savePending({ key: job.key, name: job.file.name, size: job.file.size, lastModified: job.file.lastModified, path: job.path, folderId: job.folderId, sessionId, savedAt: Date.now() });
        },
        onPartSent: () => { partsSent++; },
        onProgress: (p) => patch(job.id, { phase: p.phase === 'hash' ? 'hash' : 'upload', done: p.phase === 'hash' ? 0 : p.bytesDone }),
      }).then((r) => {
        settleBegin(job.id);
        void dropPending(job.key);
        jobs.current.delete(job.id);
        patch(job.id, { phase: 'done', done: job.file.size, deduplicated: r.deduplicated, partsSent });
        onFileDone();
      }, (e) => {
        const why = ctl.signal.aborted ? String((ctl.signal.reason as Error)?.message) : '';
        // cancelled or paused while beginUpload was in flight: its path stays this page's until the answer names the session (onSession)
        if (!why) settleBegin(job.id);
        if (why === 'paused') return patch(job.id, { phase: 'paused' });
        jobs.current.delete(job.id);
        if (why === 'cancelled') {
          void dropPending(job.key);
          abortSession(job.sessionId);
          return patch(job.id, { phase: 'cancelled' });
        }
        patch(job.id, { phase: 'error', error: errorText(e) });
      }).finally(() => {
        controllers.current.delete(job.id);
        running.current--;
        pump();
      });
    }
  }, [patch, onFileDone, settleBegin, ownChanged]);

  /**
   * Queues `files` for upload into `folder` (keeping each one's relative folder); with
   * `folderId` (a folder shared with this user as editor) `folder` is relative to that one.
   * A file that a reload interrupted goes where it was going, and continues its session.
   */
  const add = useCallback(async (files: PickedFile[], folder: string, folderId?: string) => {
    const pending = new Map((await allPending()).map((p) => [p.key, p]));
    const added: UploadEntry[] = [];
    const resumed = new Set<string>();
    for (const { file, dir } of files) {
      const id = nextId.current++;
      const key = fileKey(file);
      const before = pending.get(key);
      const job: Job = before
        ? { id, key, file, path: before.path, folderId: before.folderId, sessionId: before.sessionId }
        : { id, key, file, path: joinPath(dir ? joinPath(folder, dir) : folder, file.name), folderId };
      if (before) resumed.add(key);
      jobs.current.set(id, job);
      queue.current.push(job);
      added.push({ id, key, name: dir ? `${dir}/${file.name}` : file.name, path: job.path, total: file.size, done: 0, phase: 'queued', started: Date.now() });
    }
    setEntries((all) => [...all.filter((e) => !(e.phase === 'interrupted' && resumed.has(e.key))), ...added]);
    pump();
  }, [pump]);

  const pause = useCallback((id: number) => {
    const queued = queue.current.findIndex((j) => j.id === id);
    if (queued >= 0) { queue.current.splice(queued, 1); patch(id, { phase: 'paused' }); }
    controllers.current.get(id)?.abort(new DOMException('paused', 'AbortError'));
  }, [patch]);

  const resume = useCallback((id: number) => {
    const job = jobs.current.get(id);
    if (!job) return;
    queue.current.push(job);
    patch(id, { phase: 'queued' });
    pump();
  }, [patch, pump]);

  const cancel = useCallback((id: number) => {
    const queued = queue.current.findIndex((j) => j.id === id);
    const entry = jobs.current.get(id);
    if (queued >= 0 || !controllers.current.has(id)) {
      if (queued >= 0) queue.current.splice(queued, 1);
      jobs.current.delete(id);
      setEntries((all) => all.map((e) => {
        if (e.id !== id) return e;
        void dropPending(e.key);
        abortSession(entry?.sessionId ?? e.sessionId); // a paused or interrupted upload's session
        return { ...e, phase: 'cancelled' };
      }));
    }
    if (entry) controllers.current.get(id)?.abort(new DOMException('cancelled', 'AbortError'));
  }, []);

  const clear = useCallback(() => setEntries((all) => all.filter(isActive)), []);

  const own = useRef<OwnSessions>({
    isOwn: (sessionId, path) => ownSessions.current.has(sessionId) || [...beginning.current.values()].includes(path),
    onChange: (listener) => {
      ownListeners.current.add(listener);
      return () => ownListeners.current.delete(listener);
    },
  }).current;

  return { entries, add, pause, resume, cancel, clear, own };
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

/**
 * Uploads running on the user's other devices (the CLI, sync, another browser): found by
 * asking `activeUploads` now and every few seconds while the page is visible, then followed
 * live through the `uploadProgress` subscription (one per session, over one graphql-ws
 * connection). Sessions this page began itself are left out (the upload panel shows them).
 * A session leaves the list when it completes, is aborted or expires.
 */
import { createClient, type Client } from 'graphql-ws';
import { useEffect, useRef, useState } from 'react';
import { api } from './api';

export interface RemoteUpload {
  id: string;
  path: string;
  size: number;
  /** Bytes of the parts the server has verified. */
  done: number;
}

interface SessionData { id: string; path: string; size: string; status: string; parts: { size: string; status: string }[] }
const FIELDS = 'id path size status parts { size status }';
const POLL_MS = 3000;

function toRemote(s: SessionData): RemoteUpload {
  return { id: s.id, path: s.path, size: Number(s.size), done: s.parts.reduce((n, p) => n + (p.status === 'VERIFIED' ? Number(p.size) : 0), 0) };
}

/** The uploads of other devices, live; `own(id)` says whether this page began session `id`. */
export function useRemoteUploads(own: (sessionId: string) => boolean): RemoteUpload[] {
  const [list, setList] = useState<RemoteUpload[]>([]);
  const ownRef = useRef(own);
  ownRef.current = own;

  useEffect(() => {
    let stopped = false;
    const followed = new Map<string, () => void>();
    let client: Client | null = null;
    const ws = () => client ??= createClient({
      url: location.origin.replace(/^http/, 'ws') + '/graphql',
      connectionParams: () => (api.token ? { authorization: `Bearer ${api.token}` } : {}),
      retryAttempts: Infinity,
      shouldRetry: () => true,
    });
    const drop = (id: string) => {
      followed.get(id)?.();
      followed.delete(id);
      setList((l) => l.filter((u) => u.id !== id));
    };
    const upsert = (s: SessionData) => {
      if (s.status !== 'ACTIVE') return drop(s.id);
      setList((l) => (l.some((u) => u.id === s.id) ? l.map((u) => (u.id === s.id ? toRemote(s) : u)) : [...l, toRemote(s)]));
    };
    const follow = (id: string) => {
      followed.set(id, ws().subscribe<{ uploadProgress: SessionData }>(
        { query: `subscription($id: ID!) { uploadProgress(sessionId: $id) { ${FIELDS} } }`, variables: { id } },
        { next: (r) => { if (!stopped && r.data?.uploadProgress) upsert(r.data.uploadProgress); }, error: () => drop(id), complete: () => drop(id) },
      ));
    };
    const look = async () => {
      if (document.hidden) return;
      const r = await api.request<{ activeUploads: SessionData[] }>(`query { activeUploads(first: 20) { ${FIELDS} } }`).catch(() => null);
      if (!r || stopped) return;
      const ids = new Set<string>();
      for (const s of r.activeUploads) {
        if (ownRef.current(s.id)) continue;
        ids.add(s.id);
        upsert(s);
        if (!followed.has(s.id)) follow(s.id);
      }
      for (const id of [...followed.keys()]) if (!ids.has(id)) drop(id); // finished between two looks
    };
    void look();
    const timer = setInterval(() => void look(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
      for (const stop of followed.values()) stop();
      void client?.dispose();
    };
  }, []);

  return list;
}

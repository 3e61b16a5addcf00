/**
 * Uploads running on the user's other devices (the CLI, sync, another browser): pushed by the
 * `activeUploads` subscription (the list now, and again each time one of the user's sessions
 * begins or ends, on any device; graphql-ws resubscribes after a reconnect and gets the list
 * again), each then followed live through `uploadProgress` (all over one graphql-ws
 * connection). No polling. Sessions this page began itself are left out (the upload panel
 * shows them), as are those at a path where this page has a beginUpload in flight (its own,
 * before the answer names it). A session leaves the list when it completes, is aborted or expires.
 */
import { createClient, type Client } from 'graphql-ws';
import { useEffect, useRef, useState } from 'react';
import { api, feedErrors } from './api';

export interface RemoteUpload {
  id: string;
  path: string;
  size: number;
  /** Bytes of the parts the server has verified. */
  done: number;
}

interface SessionData { id: string; path: string; size: string; status: string; parts: { size: string; status: string }[] }
const FIELDS = 'id path size status parts { size status }';

function toRemote(s: SessionData): RemoteUpload {
  return { id: s.id, path: s.path, size: Number(s.size), done: s.parts.reduce((n, p) => n + (p.status === 'VERIFIED' ? Number(p.size) : 0), 0) };
}

/** The uploads of other devices, live; `own` says which sessions are this page's. */
export function useRemoteUploads(own: OwnSessions): RemoteUpload[] {
  const [list, setList] = useState<RemoteUpload[]>([]);
  const ownRef = useRef(own);
  ownRef.current = own;

  useEffect(() => {
    let stopped = false;
    const followed = new Map<string, () => void>();
    /** The last list the server pushed. */
    let latest: SessionData[] = [];
    const client: Client = createClient({
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
      followed.set(id, client.subscribe<{ uploadProgress: SessionData }>(
        { query: `subscription($id: ID!) { uploadProgress(sessionId: $id) { ${FIELDS} } }`, variables: { id } },
        { next: (r) => { if (!stopped && r.data?.uploadProgress) upsert(r.data.uploadProgress); }, error: () => drop(id), complete: () => drop(id) },
      ));
    };
    /** Shows the other devices' sessions of the latest list; drops the ones that left it. */
    const apply = () => {
      if (stopped) return;
      const ids = new Set<string>();
      for (const s of latest) {
        if (ownRef.current.isOwn(s.id, s.path)) continue;
        ids.add(s.id);
        upsert(s);
        if (!followed.has(s.id)) follow(s.id);
      }
      for (const id of [...followed.keys()]) if (!ids.has(id)) drop(id); // finished, or this page's own after all
    };
    const stopList = client.subscribe<{ activeUploads: SessionData[] }>(
      { query: `subscription { activeUploads(first: 20) { ${FIELDS} } }` },
      {
        next: (r) => {
          if (r.data?.activeUploads) { latest = r.data.activeUploads; apply(); }
          feedErrors(r.errors);
        },
        error: feedErrors,
        complete: () => undefined,
      },
    );
    const stopOwn = ownRef.current.onChange(apply);
    return () => {
      stopped = true;
      stopOwn();
      stopList();
      for (const stop of followed.values()) stop();
      void client.dispose();
    };
  }, []);

  return list;
}

/** What the upload queue (uploads.ts) tells about this page's own sessions. */
export interface OwnSessions {
  /** Whether session `id` (at `path`) is this page's: begun by it, or at a path it is beginning an upload to. */
  isOwn(id: string, path: string): boolean;
  /** Calls `listener` when that may have changed; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

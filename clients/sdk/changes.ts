/**
 * The change feed: pages of the journal over HTTP (`changes`, `latestCursor`) and the live feed
 * over graphql-ws (`watchChanges`). The journal is the truth and the push only delivers it: a
 * watch that loses its connection subscribes again from the last change it handed out, so a
 * reconnect neither misses nor repeats a change. A cursor older than the journal keeps is a
 * TesseraError with code RESET: list the tree again and continue from `latestCursor`.
 */
import type { Client } from 'graphql-ws';
import { TesseraError } from './errors';
import { toTesseraError, type GraphQLErrorJson, type GraphQLTransport } from './graphql';
import { backoff } from './retry';
import type { FileInfo } from './types';

export type ChangeKind = 'CREATED' | 'UPDATED' | 'MOVED' | 'DELETED' | 'SHARED' | 'UNSHARED' | 'RESTORED';

/** One journal entry: what happened to `path` (`fromPath` for MOVED), and `file` as it is now (null once you cannot see it). */
export interface ChangeInfo {
  cursor: string;
  kind: ChangeKind;
  fileId: string;
  path: string;
  fromPath: string | null;
  revision: number;
  isFolder: boolean;
  /** The device that made the change (null for the server's own, e.g. retention). */
  deviceId: string | null;
  at: string;
  file: (FileInfo & { owner: { id: string } }) | null;
}

export interface ChangePage { changes: ChangeInfo[]; cursor: string; hasMore: boolean }

export interface WatchOptions {
  /** Start after this cursor (replays what came since); default: from now on. */
  cursor?: string;
  /** Ends the watch: the iterator returns. */
  signal?: AbortSignal;
  /**
   * Hears each reconnect attempt after a lost connection (attempt counts from 1 and starts
   * again at 1 once a connection is established): attempt 1 follows the loss itself, a higher
   * one follows a failed attempt to connect again (the server is unreachable).
   */
  onReconnect?: (attempt: number, error: unknown) => void;
  /** Hears each time the live feed is (re)established: the server accepted the connection. */
  onConnected?: () => void;
}

/**
 * Longest wait between two attempts to reconnect the live feed, ms. Short, so a client notices
 * within about a second that the server is back (a refused connection costs the server nothing).
 */
export const WATCH_RETRY_MAX_MS = 1_000;

const CHANGE_FIELDS = `cursor kind fileId path fromPath revision isFolder deviceId at
  file { id name path isFolder size mimeType contentHash status revision createdAt updatedAt owner { id } }`;
const CHANGES = `query Changes($cursor: String, $limit: Int) { changes(cursor: $cursor, limit: $limit) { changes { ${CHANGE_FIELDS} } cursor hasMore } }`;
const LATEST_CURSOR = `query LatestCursor { latestCursor }`;
const WATCH = `subscription Watch($cursor: String) { changes(cursor: $cursor) { ${CHANGE_FIELDS} } }`;

/** A cursor at the end of the journal: changes from now on. */
export async function latestCursor(api: GraphQLTransport, signal?: AbortSignal): Promise<string> {
  return (await api.request<{ latestCursor: string }>(LATEST_CURSOR, {}, signal)).latestCursor;
}

/** One page of changes after `cursor` (from the start of what is kept without one). RESET for a cursor too old. */
export async function changesPage(api: GraphQLTransport, cursor?: string, limit?: number, signal?: AbortSignal): Promise<ChangePage> {
  return (await api.request<{ changes: ChangePage }>(CHANGES, { cursor, limit }, signal)).changes;
}

/**
 * Every change after `opts.cursor` (or from now on), then live ones as they happen, until
 * `opts.signal` aborts (the iterator then returns). A lost connection is retried with backoff
 * (250 ms doubled, at most WATCH_RETRY_MAX_MS apart, with jitter, for as long as it takes) and
 * resumes after the last change yielded. Rejects with TesseraError: RESET, UNAUTHENTICATED
 * (e.g. the device was signed out), BAD_USER_INPUT (a malformed cursor).
 */
export async function* watchChanges(api: GraphQLTransport, opts: WatchOptions = {}): AsyncGenerator<ChangeInfo, void, undefined> {
  const { signal } = opts;
  let cursor = opts.cursor ?? (await latestCursor(api, signal));
  let failures = 0;
  while (!signal?.aborted) {
    const client = connect(api, () => {
      failures = 0;
      opts.onConnected?.();
    });
    const iterator = client.iterate<{ changes: ChangeInfo }>({ query: WATCH, variables: { cursor } });
    const stop = () => void iterator.return?.();
    signal?.addEventListener('abort', stop, { once: true });
    let lost: unknown = new Error('the server ended the change feed');
    try {
      for await (const result of iterator) {
        if (result.errors?.length) throw toTesseraError(result.errors[0] as GraphQLErrorJson, 200);
        const change = result.data?.changes;
        if (!change) continue;
        cursor = change.cursor;
        failures = 0;
        yield change;
      }
    } catch (e) {
      if (e instanceof TesseraError) throw e;
      if (Array.isArray(e) && e.length) throw toTesseraError(e[0] as GraphQLErrorJson, 200);
      lost = e;
    } finally {
      signal?.removeEventListener('abort', stop);
      await client.dispose();
    }
    if (signal?.aborted) return;
    failures++;
    opts.onReconnect?.(failures, lost);
    try {
      await backoff(failures, signal, WATCH_RETRY_MAX_MS);
    } catch {
      return;
    }
  }
}

function connect(api: GraphQLTransport, onConnected: () => void): Client {
  // loaded on first use: graphql-ws brings graphql (~120 ms of start-up for every CLI command otherwise)
  const { createClient } = require('graphql-ws') as typeof import('graphql-ws');
  const WebSocket = require('ws') as typeof import('ws');
  return createClient({
    url: api.server.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: () => (api.token ? { authorization: `Bearer ${api.token}` } : {}),
    retryAttempts: 0,
    keepAlive: 15_000,
    lazy: true,
    on: { connected: onConnected },
  });
}

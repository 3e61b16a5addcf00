/**
 * The app's link to the server: the SDK's GraphQL transport (same origin), the session token
 * (localStorage), the live change feed (graphql-ws) and readable sentences for errors.
 */
import { createClient, type Client } from 'graphql-ws';
import { GraphQLTransport } from '../../sdk/graphql';
import { TesseraError } from '../../sdk/errors';

const TOKEN_KEY = 'tessera.token';

const signedOutListeners = new Set<() => void>();

/** Hears that the server no longer takes this browser's session (signed out from another device, or expired). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => { signedOutListeners.delete(listener); };
}

function signedOut(): void {
  if (!api.token) return;
  for (const l of signedOutListeners) l();
}

/**
 * Ends the session here when a live feed's errors say UNAUTHENTICATED (this device was signed
 * out elsewhere). A feed ends that way with an error in a `next` result (the event's resolver
 * threw) or in an `error` message (refused at subscribe): pass either.
 */
export function feedErrors(errors: unknown): void {
  if (Array.isArray(errors) && errors.some((x) => (x as { extensions?: { code?: unknown } })?.extensions?.code === 'UNAUTHENTICATED')) signedOut();
}

/** The SDK's transport; an UNAUTHENTICATED answer to a signed-in request ends the session here too. */
class AppTransport extends GraphQLTransport {
  override async request<T>(query: string, variables: Record<string, unknown> = {}, signal?: AbortSignal): Promise<T> {
    const hadToken = !!this.token;
    try {
      return await super.request<T>(query, variables, signal);
    } catch (e) {
      if (hadToken && e instanceof TesseraError && e.code === 'UNAUTHENTICATED') signedOut();
      throw e;
    }
  }
}

// fetch must be called unbound in a browser ("Illegal invocation" otherwise)
export const api = new AppTransport({ server: location.origin, token: localStorage.getItem(TOKEN_KEY) ?? undefined, fetch: (i, init) => fetch(i, init) });

export function setToken(token: string | undefined): void {
  api.token = token;
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
}

/** "Chrome on Linux": this browser's name as a device. */
export function deviceName(): string {
  const ua = navigator.userAgent;
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : 'Browser';
  const os = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
  return os ? `${browser} on ${os}` : browser;
}

const SENTENCES: Record<string, string> = {
  UNAUTHENTICATED: 'You are signed out. Please sign in again.',
  FORBIDDEN: 'You do not have permission to do that.',
  NOT_FOUND: 'That item no longer exists.',
  CONFLICT: 'Something with that name is already there, or it changed meanwhile. Reload and try again.',
  PAYLOAD_TOO_LARGE: 'That is larger than the server accepts.',
  CHANGED: 'The file changed while it was being uploaded. Please upload it again.',
  INTEGRITY: 'The bytes did not arrive intact. Please try again.',
  RATE_LIMITED: 'Too many attempts. Please wait a moment and try again.',
  NETWORK: 'The server cannot be reached. Check your connection.',
  STORE: 'The storage refused the upload. Please try again.',
  INTERNAL: 'Something went wrong on the server. Please try again.',
};

/** A readable sentence for any error (from extensions.code); never a stack or raw JSON. */
export function errorText(e: unknown): string {
  if (e instanceof TesseraError) {
    const x = e.details.extensions ?? {};
    if (e.code === 'PAYLOAD_TOO_LARGE' && x.quotaBytes != null) {
      return `Not enough storage left: this needs ${humanSize(Number(x.requestedBytes ?? 0))}, and ${humanSize(Number(x.usageBytes ?? 0) + Number(x.reservedBytes ?? 0))} of your ${humanSize(Number(x.quotaBytes))} are in use.`;
    }
    if (e.code === 'BAD_USER_INPUT' || e.code === 'NOT_FOUND' && e.message.length < 160) return capitalize(e.message);
    return SENTENCES[e.code] ?? capitalize(e.message);
  }
  if ((e as Error)?.name === 'AbortError') return 'Cancelled.';
  return 'Something went wrong. Please try again.';
}

function capitalize(s: string): string {
  const t = s.endsWith('.') ? s : `${s}.`;
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** Live changes of the signed-in user's tree: calls `onChange` for each; returns a stop function. */
export function watchChanges(onChange: (c: { kind: string; path: string; fromPath: string | null }) => void): () => void {
  const client: Client = createClient({
    url: location.origin.replace(/^http/, 'ws') + '/graphql',
    connectionParams: () => (api.token ? { authorization: `Bearer ${api.token}` } : {}),
    retryAttempts: Infinity,
    shouldRetry: () => true,
    lazy: false,
  });
  const stop = client.subscribe<{ changes: { kind: string; path: string; fromPath: string | null } }>(
    { query: 'subscription { changes { kind path fromPath } }' },
    {
      next: (r) => {
        if (r.data?.changes) onChange(r.data.changes);
        feedErrors(r.errors); // the feed ends with UNAUTHENTICATED when this device is signed out elsewhere
      },
      error: feedErrors,
      complete: () => undefined,
    },
  );
  return () => { stop(); void client.dispose(); };
}

export const FILE_FIELDS = 'id name path isFolder size mimeType revision updatedAt';
export interface Item { id: string; name: string; path: string; isFolder: boolean; size: string; mimeType: string | null; revision: number; updatedAt: string }

/** Human sizes: 0 B, 999 B, 1.5 KB, 12 MB, 1.2 GB (powers of 1024). */
export function humanSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[u]}`;
}

/** Human dates: "14:05" today, "3 Dec" this year, "3 Dec 2025" before. */
export function humanDate(iso: string): string {
  const d = new Date(iso);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  const opts: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', ...(d.getFullYear() !== now.getFullYear() ? { year: 'numeric' } : {}) };
  return d.toLocaleDateString(undefined, opts);
}

export function joinPath(folder: string, name: string): string {
  return folder === '/' ? `/${name}` : `${folder}/${name}`;
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/**
 * TEMPORARY: a stand-in for the change feed SDK API (clients/sdk/changes.ts) that another
 * branch is adding to TesseraClient. Delete this file at merge and let ./feed.ts use the client.
 * Same signatures and behaviour: RESET from the server is a TesseraError with code 'RESET'.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { TesseraError, type TesseraErrorCode } from '../sdk/errors';
import type { TesseraClient } from '../sdk/client';
import type { FileInfo } from '../sdk/types';

export interface ChangeInfo {
  cursor: string;
  kind: 'CREATED' | 'UPDATED' | 'MOVED' | 'DELETED' | 'SHARED' | 'UNSHARED' | 'RESTORED';
  fileId: string;
  path: string;
  fromPath: string | null;
  revision: number;
  isFolder: boolean;
  deviceId: string | null;
  at: string;
  file: (FileInfo & { owner: { id: string } }) | null;
}

const CHANGE_FIELDS = `cursor kind fileId path fromPath revision isFolder deviceId at
  file { id name path isFolder size mimeType contentHash status revision createdAt updatedAt owner { id } }`;

interface GqlError { message: string; extensions?: { code?: string } }

function toError(e: GqlError): TesseraError {
  return new TesseraError((e.extensions?.code ?? 'INTERNAL') as TesseraErrorCode, e.message);
}

async function gql<T>(client: TesseraClient, query: string, variables: Record<string, unknown>): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${client.server}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${client.token}` },
      body: JSON.stringify({ query, variables }),
    });
  } catch (e) {
    throw new TesseraError('NETWORK', `cannot reach ${client.server}`, { cause: e });
  }
  const body = (await res.json()) as { data?: T; errors?: GqlError[] };
  if (body.errors?.length) throw toError(body.errors[0]);
  return body.data as T;
}

export async function latestCursor(client: TesseraClient): Promise<string> {
  return (await gql<{ latestCursor: string }>(client, 'query { latestCursor }', {})).latestCursor;
}

export async function changes(client: TesseraClient, cursor?: string, limit?: number): Promise<{ changes: ChangeInfo[]; cursor: string; hasMore: boolean }> {
  const q = `query($c: String, $l: Int) { changes(cursor: $c, limit: $l) { changes { ${CHANGE_FIELDS} } cursor hasMore } }`;
  return (await gql<{ changes: { changes: ChangeInfo[]; cursor: string; hasMore: boolean } }>(client, q, { c: cursor, l: limit })).changes;
}

export async function* watchChanges(client: TesseraClient, opts: { cursor?: string; signal?: AbortSignal }): AsyncIterable<ChangeInfo> {
  const ws = createClient({
    url: client.server.replace(/^http/, 'ws') + '/graphql',
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${client.token}` },
    retryAttempts: 0,
  });
  const it = ws.iterate<{ changes: ChangeInfo }>({ query: `subscription($c: String) { changes(cursor: $c) { ${CHANGE_FIELDS} } }`, variables: { c: opts.cursor } });
  const onAbort = () => void it.return?.();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      let r: IteratorResult<{ data?: { changes: ChangeInfo } | null; errors?: readonly GqlError[] }>;
      try {
        r = await it.next();
      } catch (e) {
        const errs = e as GqlError[];
        if (Array.isArray(errs) && errs.length) throw toError(errs[0]);
        throw new TesseraError('NETWORK', String((e as Error)?.message ?? e), { cause: e });
      }
      if (r.done || opts.signal?.aborted) return;
      if (r.value.errors?.length) throw toError(r.value.errors[0] as GqlError);
      if (r.value.data) yield r.value.data.changes;
    }
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await ws.dispose();
  }
}

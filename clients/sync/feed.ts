/**
 * The part of the change feed API the sync engine uses. Until the SDK's own
 * (TesseraClient.changes / latestCursor / watchChanges) is merged, a temporary shim serves it.
 */
import type { TesseraClient } from '../sdk/client';
import * as shim from './feed-shim';

export type { ChangeInfo } from './feed-shim';
import type { ChangeInfo } from './feed-shim';

export interface ChangePage { changes: ChangeInfo[]; cursor: string; hasMore: boolean }

/** The change feed: `changes` rejects with a TesseraError coded RESET for a cursor too old to serve. */
export interface ChangeSource {
  latestCursor(): Promise<string>;
  changes(cursor?: string, limit?: number): Promise<ChangePage>;
  watchChanges(opts: { cursor?: string; signal?: AbortSignal }): AsyncIterable<ChangeInfo>;
}

export function changeSourceOf(client: TesseraClient): ChangeSource {
  return {
    latestCursor: () => shim.latestCursor(client),
    changes: (cursor, limit) => shim.changes(client, cursor, limit),
    watchChanges: (opts) => shim.watchChanges(client, opts),
  };
}

/** True for the error a too-old cursor gets. */
export function isReset(e: unknown): boolean {
  return (e as { code?: unknown } | null)?.code === 'RESET';
}

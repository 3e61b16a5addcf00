/** The part of the SDK's change feed the sync engine uses (an interface, so a test or bench can wrap it). */
import type { ChangeInfo, ChangePage, WatchOptions } from '../sdk/changes';
import { isTesseraError } from '../sdk/errors';

export type { ChangeInfo, ChangePage };

/** The change feed (a TesseraClient is one): `changes` and `watchChanges` reject with a TesseraError coded RESET for a cursor too old to serve. */
export interface ChangeSource {
  latestCursor(): Promise<string>;
  changes(cursor?: string, limit?: number): Promise<ChangePage>;
  watchChanges(opts: WatchOptions): AsyncIterable<ChangeInfo>;
}

/** True for the error a too-old cursor gets. */
export function isReset(e: unknown): boolean {
  return isTesseraError(e, 'RESET');
}

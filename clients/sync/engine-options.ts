import type { TesseraClient } from '../sdk/client';
import type { ActionOutcome } from './executor';
import type { ChangeSource } from './feed';
import type { ScanFs, ScanProblem } from './local-tree';
import type { Action } from './planner';
import type { SyncHalted } from './halt';
import type { SyncStatus } from './status';

/** What a SyncEngine is given (engine.ts), and what one of its cycles reports. */
export interface SyncEngineOptions {
  client: TesseraClient;
  /** The local folder to keep identical to the remote root. */
  folder: string;
  /** Remote folder (default "/"); a folder is bound to one remote root and one account. */
  remoteRoot?: string;
  /** Names conflicted copies (default: this device's name on the server). */
  deviceName?: string;
  /** The change feed (default: the client's). */
  feed?: ChangeSource;
  /** Called for every action carried out (or failed). */
  onOutcome?: (o: ActionOutcome) => void;
  /** Called for errors outside an action (a failed cycle, the watcher, the feed); the engine keeps going. */
  onError?: (e: Error) => void;
  /** Called when a running engine stopped itself because going on would destroy data (see SyncHalted). */
  onHalt?: (e: SyncHalted) => void;
  /** Called when the engine's state (syncing N files, up to date, offline, halted) changes; it is also kept in `<folder>/.tessera/status.json` (status.ts). */
  onStatus?: (now: SyncStatus, before: SyncStatus) => void;
  /** Wait this long after a wake-up before a cycle (default 30 ms). */
  debounceMs?: number;
  /** Full rescan at least this often when running (default 60 s); in between, cycles look only at the paths the watcher reported. */
  rescanMs?: number;
  /** The file-system calls of local scans (default node:fs/promises; tests count them). */
  scanFs?: ScanFs;
  /**
   * A started engine uploads a file only once it has not changed for this long (default 300 ms),
   * so a file still being written (a copy in progress) is sent once, whole, not as a series of
   * partial revisions. `runOnce` called directly uploads what is there.
   */
  settleMs?: number;
  /**
   * For deterministic tests (the sync simulation): when set, the transfers (uploads and
   * downloads) that a plan runs side by side run one at a time instead, in the order this
   * returns (a permutation of the actions it is given), so their start and finish order is
   * fixed and a race replays exactly. Default: up to 4 at once, in plan order, finishing in
   * whatever order the network and disk allow.
   */
  transferOrder?: (transfers: Action[]) => Action[];
}

/** What one `runOnce` did. */
export interface CycleReport {
  outcomes: ActionOutcome[];
  /** The failed ones (retried next cycle). */
  errors: ActionOutcome[];
  scanProblems: ScanProblem[];
  /** The remote tree was listed again (first run or RESET). */
  relisted: boolean;
  /** Remote changes applied from the feed. */
  changesApplied: number;
  bytesDown: number;
  bytesUp: number;
}

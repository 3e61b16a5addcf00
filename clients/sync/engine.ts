import { resolve } from 'node:path';
import type { TesseraClient } from '../sdk/client';
import { TesseraError, isAbortError, isTesseraError } from '../sdk/errors';
import { ContentHasher } from './content-hash';
import { SyncHalted, checkLocalRoot, folderIdentity } from './halt';
import type { SyncedEntry, Tree } from './entries';
import { isReset, type ChangeSource } from './feed';
import { Executor } from './executor';
import { IgnoreMatcher } from './ignore';
import { keepIgnoredContent, loadIgnoreRules, withoutIgnored } from './ignored-content';
import { rescanLocal, scanLocal, type ScanProblem, type ScanResult } from './local-tree';
import { normaliseRoot, toRemote } from './paths';
import { planSync, type Action } from './planner';
import { rescueRefused, withoutRefused } from './read-only';
import { RemoteTree } from './remote-tree';
import { cleanStaging } from './staging';
import { StateDb, stateFileOf } from './state-db';
import { StatusBoard, isUnreachable, type SyncStatus } from './status';
import { FolderWatcher } from './watcher';

import type { CycleReport, SyncEngineOptions } from './engine-options';
export type { CycleReport, SyncEngineOptions } from './engine-options';

const MAX_PASSES = 5;
/** More changed paths than this between cycles: scan everything instead. */
const MAX_DIRTY = 1_000;

/**
 * Keeps a local folder and the signed-in user's remote folder identical (Dropbox's three
 * trees: remote, local, synced). `runOnce` is one full cycle: apply the change feed (or list
 * everything on the first run / after RESET), scan, plan, execute, repeated while a pass still
 * had work (a conflict leaves some for the next pass). Paths the built-in junk names or the
 * folder's `.tesseraignore` ignore are left out of all three trees (see ignore.ts). `start` runs cycles on file-system
 * events, on the change subscription and periodically, until `stop`; while its watcher runs,
 * a cycle rescans only the paths it reported (and what the previous pass touched), and the
 * whole folder on the first cycle, every `rescanMs`, after a watcher error or an event without
 * a name, when more than 1,000 paths changed, and when the ignore rules changed. Per-path failures are in
 * the report and retried next cycle; `runOnce` rejects only when the server cannot be read
 * (e.g. NETWORK, UNAUTHENTICATED), the folder belongs to another account or remote root
 * (BAD_USER_INPUT), or with SyncHalted when the local folder was deleted or replaced, or the
 * remote folder moved or deleted (nothing is changed on either side then; a started engine
 * stops and calls `onHalt`).
 */
export class SyncEngine {
  private stopping: AbortController | null = null;
  private running: Promise<CycleReport> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private periodic: NodeJS.Timeout | null = null;
  private watcher: FolderWatcher | null = null;
  private feedLoop: Promise<void> | null = null;
  private lastScan: ScanResult | null = null;
  private lastRules: string | null = null;
  private dirty = new Set<string>();
  private fullScanDue = true;
  private settleTimer: NodeJS.Timeout | null = null;
  /** Scan problems already told to `onError` (each once while it lasts). */
  private told = new Set<string>();
  /** What the engine is doing, for `onStatus` and `tessera status`. */
  private readonly board: StatusBoard;

  private constructor(
    private readonly opts: SyncEngineOptions,
    private readonly db: StateDb,
    private readonly remote: RemoteTree,
    private readonly hasher: ContentHasher,
    private readonly feed: ChangeSource,
    readonly folder: string,
    readonly remoteRoot: string,
    readonly deviceName: string,
    /** The local folder's identity when the engine opened (see checkLocalRoot). */
    private readonly folderId: string,
  ) {
    this.board = new StatusBoard(folder, opts.client.server, remoteRoot, opts.onStatus);
  }

  /** What the engine is doing now (also in the folder's status file). */
  get status(): SyncStatus {
    return this.board.current;
  }

  /** Opens (or initialises) the folder's state and checks it belongs to this account and remote root. */
  static async open(opts: SyncEngineOptions): Promise<SyncEngine> {
    const folder = resolve(opts.folder);
    const remoteRoot = normaliseRoot(opts.remoteRoot ?? '/');
    const { client } = opts;
    const me = await client.me();
    const deviceName = opts.deviceName ?? (await client.devices()).find((d) => d.current)?.name ?? 'device';
    const db = new StateDb(folder);
    let rootId: string | null;
    let folderId: string;
    try {
      const binding = [['userId', me.id], ['remoteRoot', remoteRoot], ['server', client.server]] as const;
      for (const [key, value] of binding) {
        const stored = db.get(key);
        if (stored !== null && stored !== value) throw new TesseraError('BAD_USER_INPUT', `${folder} is synced with ${key} ${stored}, not ${value}`);
      }
      rootId = await remoteRootId(client, db, remoteRoot);
      // bound only once the remote root is known to be usable
      for (const [key, value] of binding) if (db.get(key) === null) db.set(key, value);
      folderId = (await folderIdentity(folder))!;
    } catch (e) {
      if (e instanceof SyncHalted) new StatusBoard(folder, client.server, remoteRoot).halted(e);
      db.close();
      throw e;
    }
    const feed: ChangeSource = opts.feed ?? client;
    return new SyncEngine(opts, db, new RemoteTree(client, feed, db, remoteRoot, me.id, rootId), new ContentHasher(client), feed, folder, remoteRoot, deviceName, folderId);
  }

  /** One full cycle (waits for a cycle already running, then runs a fresh one). */
  async runOnce(): Promise<CycleReport> {
    while (this.running) await this.running.catch(() => undefined);
    this.running = this.cycle();
    try {
      return await this.running;
    } catch (e) {
      if (!(e instanceof SyncHalted)) this.board.cycleFailed(e);
      throw e;
    } finally {
      this.running = null;
    }
  }

  /** Runs until `stop`: cycles on local events (debounced), remote change notifications and every `rescanMs`. */
  start(): void {
    if (this.stopping) return;
    this.stopping = new AbortController();
    this.fullScanDue = true;
    this.watcher = new FolderWatcher(this.folder, (rel) => this.changed(rel), (e) => {
      this.fullScanDue = true;
      this.report(e);
    });
    this.watcher.start();
    this.periodic = setInterval(() => {
      this.fullScanDue = true;
      this.schedule();
    }, this.opts.rescanMs ?? 60_000);
    this.feedLoop = this.listen(this.stopping.signal);
    this.schedule();
  }

  /** Stops watching and waits for the cycle in progress. */
  async stop(): Promise<void> {
    if (!this.stopping) return;
    this.stopping.abort();
    this.watcher?.stop();
    if (this.timer) clearTimeout(this.timer);
    if (this.periodic) clearInterval(this.periodic);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.timer = this.periodic = this.settleTimer = null;
    await this.feedLoop;
    while (this.running) await this.running.catch(() => undefined);
    this.stopping = null;
  }

  /** Stops and closes the state database. */
  async close(): Promise<void> {
    await this.stop();
    this.board.flush();
    this.db.close();
  }

  /** Asks for a cycle soon (coalesces wake-ups). */
  schedule(): void {
    if (!this.stopping || this.stopping.signal.aborted) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.again = false;
      this.runOnce().catch((e) => (e instanceof SyncHalted ? this.halt(e) : this.report(e))).finally(() => {
        if (this.again) this.schedule();
      });
    }, this.opts.debounceMs ?? 30);
  }

  /** A watcher event: `rel` changed (null: something did). */
  private changed(rel: string | null): void {
    if (rel === null || this.dirty.size >= MAX_DIRTY) {
      this.fullScanDue = true;
      this.dirty.clear();
    } else if (!this.fullScanDue) {
      this.dirty.add(rel);
    }
    this.schedule();
  }

  /** The local tree: a full scan, or when the watcher vouches for the rest, a rescan of the changed paths only. */
  private async scan(synced: Tree<SyncedEntry>, matcher: IgnoreMatcher, touched: string[]): Promise<ScanResult> {
    const opts = { ignores: (p: string, isDir: boolean) => matcher.ignores(p, isDir), fs: this.opts.scanFs };
    const hash = (p: string, size: number) => this.hasher.hash(p, size);
    const prev = this.lastScan;
    const full = !this.watcher?.active || !prev || this.fullScanDue || this.lastRules !== matcher.rules.source
      || prev.problems.some((p) => p.rel === '/');
    let result: ScanResult;
    if (full) {
      this.fullScanDue = false;
      this.dirty = new Set();
      result = await scanLocal(this.folder, synced, hash, opts);
    } else {
      const dirty = [...this.dirty, ...touched, ...prev.problems.map((p) => p.rel)];
      this.dirty = new Set();
      result = await rescanLocal(this.folder, prev.tree, dirty, synced, hash, opts);
    }
    this.lastScan = result;
    this.lastRules = matcher.rules.source;
    return result;
  }

  private async cycle(): Promise<CycleReport> {
    const report: CycleReport = { outcomes: [], errors: [], scanProblems: [], relisted: false, changesApplied: 0, bytesDown: 0, bytesUp: 0 };
    const executor = new Executor({
      client: this.opts.client, db: this.db, remote: this.remote, folder: this.folder, remoteRoot: this.remoteRoot,
      deviceName: this.deviceName, transferOrder: this.opts.transferOrder,
      onOutcome: (o) => {
        if (o.action.type !== 'record') this.board.actionDone();
        this.opts.onOutcome?.(o);
      },
    });
    let touched: string[] = [];
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const refreshed = await this.remote.refresh();
      report.relisted ||= refreshed.relisted;
      report.changesApplied += refreshed.changes;
      const matcher = new IgnoreMatcher(await loadIgnoreRules(this.folder));
      const { tree: synced, ignored } = withoutIgnored(this.db.loadSynced(), matcher);
      for (const p of ignored) this.db.deleteSynced(p);
      const { tree: local, problems } = await this.scan(synced, matcher, touched);
      report.scanProblems = problems;
      if (this.stopping) this.reportNew(problems); // runOnce's caller reads them in the report
      const remote = withoutIgnored(this.remote.entries, matcher).tree;
      const planned = planSync(local, remote, synced, { deviceName: this.deviceName, now: new Date() });
      const plan = withoutRefused(this.withoutUnsettled(await keepIgnoredContent(planned, this.folder, this.remote.entries, matcher)), this.db);
      await cleanStaging(this.folder, planned); // every download still wanted keeps its partial (also one waiting to settle)
      if (plan.length === 0) break;
      // a folder deleted under a running engine scans as "everything deleted": never act on that
      await checkLocalRoot(this.folder, this.folderId, stateFileOf(this.folder));
      this.board.syncing(plan.filter((a) => a.type !== 'record').length);
      const outcomes = await executor.run(plan);
      // what the server refused as read-only (a viewer's mount) is moved aside or undone, not retried (read-only.ts)
      await rescueRefused({ client: this.opts.client, db: this.db, remote: this.remote, folder: this.folder, remoteRoot: this.remoteRoot, deviceName: this.deviceName }, outcomes);
      touched = outcomes.flatMap(({ action: a }) => [a.path, ...('from' in a ? [a.from] : []), ...('copyPath' in a ? [a.copyPath] : [])]);
      report.outcomes.push(...outcomes);
      for (const o of outcomes) {
        report.bytesDown += o.bytesDown ?? 0;
        report.bytesUp += o.bytesUp ?? 0;
      }
      const failed = outcomes.filter((o) => o.error);
      // a CONFLICT (the server refused a precondition) is planned again at once from the fresh remote tree
      const replan = failed.some((o) => isTesseraError(o.error, 'CONFLICT'));
      if (!replan && (failed.length === outcomes.length || (pass > 0 && outcomes.every((o) => o.action.type === 'record' || o.error)))) {
        report.errors = failed;
        break;
      }
      report.errors = failed;
    }
    this.board.cycleDone(report.errors, this.settleTimer !== null);
    return report;
  }

  /**
   * In a started engine: the plan without uploads of files changed less than `settleMs` ago;
   * their paths are scanned again (and a cycle scheduled) once they may have settled.
   */
  private withoutUnsettled(plan: Action[]): Action[] {
    if (!this.stopping) return plan;
    const settle = this.opts.settleMs ?? 300;
    const now = Date.now();
    let wait = 0;
    const ready = plan.filter((a) => {
      if (a.type !== 'upload' && a.type !== 'conflict') return true;
      const age = now - a.local.mtimeMs;
      if (age < 0 || age >= settle) return true;
      wait = Math.max(wait, settle - age);
      this.dirty.add(a.path);
      return false;
    });
    if (wait > 0 && !this.settleTimer) {
      this.settleTimer = setTimeout(() => {
        this.settleTimer = null;
        this.schedule();
      }, wait + 5);
    }
    return ready;
  }

  /**
   * The change subscription as a wake-up; reconnects after errors (RESET: the next cycle
   * re-lists). It also tells the status board when the server becomes unreachable and when the
   * feed is connected again, which wakes a cycle to catch up on what happened meanwhile.
   */
  private async listen(signal: AbortSignal): Promise<void> {
    let delay = 500;
    const onReconnect = (attempt: number, e: unknown) => this.board.feedLost(attempt, e);
    const onConnected = () => {
      this.board.feedConnected();
      this.schedule();
    };
    while (!signal.aborted) {
      let wait = delay;
      try {
        const cursor = this.remote.cursor ?? (await this.feed.latestCursor());
        for await (const _change of this.feed.watchChanges({ cursor, signal, onReconnect, onConnected })) {
          delay = 500;
          this.schedule();
        }
      } catch (e) {
        if (signal.aborted || isAbortError(e)) return;
        if (isUnreachable(e)) {
          // the server is away: try again soon (the feed's own reconnects are as quick)
          this.board.offline(e);
          wait = 500;
        } else if (!isReset(e)) this.report(e as Error);
        this.schedule();
      }
      if (signal.aborted) return;
      await new Promise<void>((r) => {
        const t = setTimeout(r, wait);
        signal.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
      });
      delay = Math.min(delay * 2, 30_000);
    }
  }

  /** Tells `onError` about scan problems it has not heard of yet (a running engine would otherwise skip them silently). */
  private reportNew(problems: ScanProblem[]): void {
    const keyOf = (p: ScanProblem) => `${p.rel}\n${(p.error as Error)?.message}`;
    const now = new Set(problems.map(keyOf));
    for (const p of problems) {
      if (!this.told.has(keyOf(p))) this.report(Object.assign(new Error(`cannot sync ${p.rel}: ${(p.error as Error)?.message ?? p.error}`), { code: (p.error as { code?: string })?.code ?? 'SCAN' }));
    }
    this.told = now;
  }

  /** Stops a started engine for good (see SyncHalted), closing its state (and the folder's lock), and tells `onHalt`. */
  private halt(e: SyncHalted): void {
    this.board.halted(e);
    void this.close().then(() => this.opts.onHalt?.(e));
  }

  private report(e: unknown): void {
    this.opts.onError?.(e instanceof Error ? e : new Error(String(e)));
  }

  /** The remote path a relative path maps to. */
  remotePathOf(rel: string): string {
    return toRemote(this.remoteRoot, rel);
  }
}

/**
 * The remote root's file id (null for "/"), created on first use. A folder synced before
 * remembers it: if the root now is another folder or none, it was moved or deleted while the
 * engine was not running, and REMOTE_ROOT_GONE stops the engine before it deletes local files.
 */
async function remoteRootId(client: TesseraClient, db: StateDb, root: string): Promise<string | null> {
  if (root === '/') return null;
  const known = db.get('remoteRootId');
  let node = await client.fileByPath(root);
  if (known !== null && node?.id !== known) {
    throw new SyncHalted('REMOTE_ROOT_GONE', `the remote folder ${root} was moved or deleted since the last sync (move it back, or sync another local folder with it)`);
  }
  node ??= await client.createFolder(root);
  if (!node.isFolder) throw new TesseraError('BAD_USER_INPUT', `${root} is a file, not a folder`);
  if (known === null) db.set('remoteRootId', node.id);
  return node.id;
}

import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { TesseraClient } from '../../../clients/sdk/client';
import { isTesseraError } from '../../../clients/sdk/errors';
import { contentHashOf, sha256Hex } from '../../../clients/sdk/hashing';
import { SyncEngine, type CycleReport } from '../../../clients/sync/engine';
import type { ActionOutcome } from '../../../clients/sync/executor';
import type { Kinds } from './gen';
import { CallHook, seededTransferOrder } from './hook';
import { contentOf, type Op, type Who } from './ops';

/** The content hash the server gives these bytes (one part: every simulated file is small). */
export const hashOf = (bytes: string | Buffer) => contentHashOf([sha256Hex(bytes)]);

/** A failure that ends the run at once (a cycle rejected or hung). */
export class SimAbort extends Error {}

export interface Device {
  index: number;
  /** Its engine's device name and its label in reports: devN (the member's: member). */
  name: string;
  client: TesseraClient;
  folder: string;
  engine: SyncEngine;
  hook: CallHook;
  offline: boolean;
  /** A cycle that never ended (its engine is abandoned, not awaited). */
  hung: boolean;
}

/**
 * One run's world: a fresh account on the shared server, `n` devices (each a real SyncEngine on
 * its own temp folder, all signed in with the account's token, named dev0..), and the account's
 * own client for server-side edits. It applies ops and keeps what the invariants need: the
 * versions people wrote and did not knowingly replace (`needed`), the versions on disk when
 * each completed cycle started (`cycleStart`), every version's bytes by hash, and the failures.
 */
export class World {
  readonly devices: Device[] = [];
  api!: TesseraClient;
  /** hash -> bytes of every version the run wrote. */
  readonly contents = new Map<string, string>();
  /** hash -> who wrote it: versions that must still be a live file at the end. */
  readonly needed = new Map<string, string>();
  /** hash -> "devN before cycle k": versions that must be live, a revision or in the trash. */
  readonly cycleStart = new Map<string, string>();
  readonly failures: string[] = [];
  /** Action errors seen in cycles (code: message), for reports. */
  readonly actionErrors: string[] = [];
  /** The action errors whose code is not one a race explains (CONFLICT, CHANGED, NOT_FOUND). */
  readonly unexpectedErrors: string[] = [];
  /** Per device in a cycle ("devN"): versions its person deleted or replaced during that cycle (not owed by it). */
  private readonly droppedDuring = new Map<string, Set<string>>();
  cursor0 = '';
  cycles = 0;
  private scratch = '';

  /** `order`: the seed of the order in which each plan's transfers run (seededTransferOrder). */
  constructor(readonly serverUrl: string, readonly n: number, readonly cycleTimeoutMs = 20_000, readonly order = 0) {}

  /** Opens a device's engine on its folder, its client wrapped by its call hook, with the run's transfer order. */
  protected openEngine(d: { client: TesseraClient; hook: CallHook; folder: string; name: string }): Promise<SyncEngine> {
    const trace = process.env.SIM_TRACE ? (o: ActionOutcome) => process.stdout.write(`  ${d.name}: ${describeOutcome(o)}\n`) : undefined;
    return SyncEngine.open({ client: d.hook.wrap(d.client), folder: d.folder, deviceName: d.name, transferOrder: process.env.SIM_PARALLEL_TRANSFERS ? undefined : seededTransferOrder(this.order), onOutcome: trace });
  }

  /** The device of index `i` (undefined: none); a ShareWorld adds the member's. */
  device(i: number): Device | undefined {
    return this.devices[i];
  }

  /** Where versions on `d`'s disk when its cycle started are owed (invariant 3): the account's devices' in `cycleStart`. */
  protected cycleStartOf(d: Device): Map<string, string> | null {
    return this.devices.includes(d) ? this.cycleStart : null;
  }

  async setup(): Promise<void> {
    const email = `sim-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    this.api = new TesseraClient({ server: this.serverUrl });
    await this.api.signUp(email, 'correct horse battery', { deviceName: 'sim' });
    this.cursor0 = await this.api.latestCursor();
    this.scratch = await mkdtemp(join(tmpdir(), 'tessera-sim-srv-'));
    for (let i = 0; i < this.n; i++) {
      const client = new TesseraClient({ server: this.serverUrl, token: this.api.token });
      const folder = await mkdtemp(join(tmpdir(), `tessera-sim-d${i}-`));
      const hook = new CallHook();
      const name = `dev${i}`;
      const engine = await this.openEngine({ client, hook, folder, name });
      this.devices.push({ index: i, name, client, folder, engine, hook, offline: false, hung: false });
    }
  }

  async dispose(): Promise<void> {
    for (const d of this.devices) await this.closeEngine(d);
    for (const d of this.devices) await rm(d.folder, { recursive: true, force: true });
    if (this.scratch) await rm(this.scratch, { recursive: true, force: true });
  }

  /** Closes a device's engine; an abandoned one (crashed or hung) only has its state database closed. */
  protected async closeEngine(d: Device): Promise<void> {
    if (d.hook.crashed || d.hung) (d.engine as unknown as { db: { close(): void } }).db.close();
    else await d.engine.close().catch(() => undefined);
  }

  /** Closes and reopens a device's engine on its folder (with a fresh call hook). */
  async reopen(d: Device): Promise<void> {
    await this.closeEngine(d);
    d.hook = new CallHook();
    d.hung = false;
    d.engine = await this.openEngine(d);
  }

  // ---- trees ----

  /** `who`'s tree: a device's folder (without .tessera) or the server's, path -> kind. */
  async tree(who: Who): Promise<Kinds> {
    const out: Kinds = new Map();
    for (const [p, e] of await this.entries(who)) out.set(p, e.kind);
    return out;
  }

  /** `who`'s tree with each file's content hash. */
  async entries(who: Who): Promise<Map<string, { kind: 'file' | 'folder'; hash: string | null }>> {
    const out = new Map<string, { kind: 'file' | 'folder'; hash: string | null }>();
    if (who === 's') {
      const walk = async (p: string) => {
        for (const f of await this.api.listFolder(p)) {
          if (f.status !== 'AVAILABLE') continue;
          out.set(f.path, { kind: f.isFolder ? 'folder' : 'file', hash: f.isFolder ? null : f.contentHash });
          if (f.isFolder) await walk(f.path);
        }
      };
      await walk('/');
      return out;
    }
    const root = this.device(who)!.folder;
    const walk = async (rel: string) => {
      for (const d of await readdir(join(root, rel), { withFileTypes: true })) {
        if (rel === '' && d.name === '.tessera') continue;
        const p = `${rel}/${d.name}`;
        if (d.isDirectory()) {
          out.set(p, { kind: 'folder', hash: null });
          await walk(p);
        } else {
          out.set(p, { kind: 'file', hash: hashOf(await readFile(join(root, p))) });
        }
      }
    };
    await walk('');
    return out;
  }

  // ---- ops ----

  async apply(op: Op): Promise<void> {
    if (process.env.SIM_TRACE) process.stdout.write(`op ${JSON.stringify(op.t === 'race' ? { ...op, ops: op.ops.length } : op)}\n`);
    switch (op.t) {
      case 'sync': {
        const d = this.device(op.dev);
        if (d && !d.offline) await this.cycle(op.dev);
        return;
      }
      case 'offline':
      case 'online': {
        const d = this.device(op.dev);
        if (d) d.offline = op.t === 'offline';
        return;
      }
      case 'crash':
        return this.crash(op.dev, op.at, op.mid ?? false);
      case 'kill':
        return this.kill(op.dev, op.at);
      case 'race':
        return this.race(op.dev, op.at, op.ops);
      case 'share':
        return; // a ShareWorld's (sharing.ts)
      default:
        if (op.who === 's') return this.serverEdit(op);
        if (this.device(op.who)) return this.localEdit(this.device(op.who)!.folder, op, this.device(op.who)!.name);
    }
  }

  private wrote(bytes: string, who: string): void {
    const h = hashOf(bytes);
    this.contents.set(h, bytes);
    this.needed.set(h, who);
  }

  /** The person replaced or deleted these versions with them in front of them: no longer owed. */
  private dropped(hashes: Iterable<string | null>, who: string): void {
    for (const h of hashes) {
      if (!h) continue;
      this.needed.delete(h);
      this.droppedDuring.get(who)?.add(h);
    }
  }

  protected async localEdit(root: string, op: Exclude<Op, { t: 'sync' | 'offline' | 'online' | 'crash' | 'kill' | 'race' }>, who: string): Promise<void> {
    const abs = (p: string) => join(root, p);
    const kindAt = async (p: string) => {
      const st = await lstat(abs(p)).catch(() => null);
      return st ? (st.isDirectory() ? 'folder' : 'file') : null;
    };
    /** Creates `p`'s missing parents; false when one of them is a file. */
    const parents = async (p: string) => {
      const segs = p.split('/').slice(1, -1);
      for (let i = 1; i <= segs.length; i++) if ((await kindAt('/' + segs.slice(0, i).join('/'))) === 'file') return false;
      await mkdir(dirname(abs(p)), { recursive: true });
      return true;
    };
    const hashesUnder = async (p: string) => {
      const out: string[] = [];
      const walk = async (q: string) => {
        if ((await kindAt(q)) === 'file') out.push(hashOf(await readFile(abs(q))));
        else for (const n of await readdir(abs(q))) await walk(`${q}/${n}`);
      };
      await walk(p);
      return out;
    };
    switch (op.t) {
      case 'write': {
        const k = await kindAt(op.path);
        if (k === 'folder' || !(await parents(op.path))) return;
        if (k === 'file') this.dropped([hashOf(await readFile(abs(op.path)))], who);
        const bytes = contentOf(op.v, op.size);
        await writeFile(abs(op.path), bytes);
        this.wrote(bytes, who);
        return;
      }
      case 'append': {
        if ((await kindAt(op.path)) !== 'file') return;
        const old = await readFile(abs(op.path), 'utf8');
        this.dropped([hashOf(old)], who);
        await writeFile(abs(op.path), old + `+${op.v}`);
        this.wrote(old + `+${op.v}`, who);
        return;
      }
      case 'mkdir':
        if ((await kindAt(op.path)) === null && (await parents(op.path))) await mkdir(abs(op.path));
        return;
      case 'stamp': {
        if ((await kindAt(op.path)) !== 'file' || (await kindAt(op.like)) !== 'file') return;
        const s = Math.floor((await lstat(abs(op.like))).mtimeMs / 1000);
        for (const p of [op.path, op.like]) await utimes(abs(p), s, s);
        return;
      }
      case 'move': {
        if ((await kindAt(op.from)) === null || op.to.startsWith(op.from + '/')) return;
        if ((await kindAt(op.to)) !== null || !(await parents(op.to))) return;
        await rename(abs(op.from), abs(op.to));
        return;
      }
      case 'rm':
        if ((await kindAt(op.path)) === null) return;
        this.dropped(await hashesUnder(op.path), who);
        await rm(abs(op.path), { recursive: true });
        return;
      case 'swap': {
        const k = await kindAt(op.path);
        if (k === null) return;
        this.dropped(await hashesUnder(op.path), who);
        await rm(abs(op.path), { recursive: true });
        const bytes = contentOf(op.v, op.size);
        if (k === 'file') {
          await mkdir(abs(op.path));
          await writeFile(abs(`${op.path}/a`), bytes);
        } else {
          await writeFile(abs(op.path), bytes);
        }
        this.wrote(bytes, who);
      }
    }
  }

  /** A person's edit on the server through the SDK (skipped when it no longer applies). */
  private async serverEdit(op: Exclude<Op, { t: 'sync' | 'offline' | 'online' | 'crash' | 'kill' | 'race' }>): Promise<void> {
    const api = this.api;
    const at = (p: string) => api.fileByPath(p).catch(() => null);
    const put = async (path: string, bytes: string, base: number) => {
      const tmp = join(this.scratch, `up-${this.contents.size}-${Math.random().toString(36).slice(2)}`);
      await writeFile(tmp, bytes);
      try {
        await api.upload(tmp, path, { baseRevision: base });
        return true;
      } catch (e) {
        if (isTesseraError(e, 'CONFLICT') || isTesseraError(e, 'NOT_FOUND') || isTesseraError(e, 'BAD_USER_INPUT')) return false;
        throw e;
      } finally {
        await rm(tmp, { force: true });
      }
    };
    const hashesUnder = async (p: string) => [...(await this.entries('s'))].filter(([q]) => q === p || q.startsWith(p + '/')).map(([, e]) => e.hash);
    const tolerate = (e: unknown) => {
      if (!isTesseraError(e, 'CONFLICT') && !isTesseraError(e, 'NOT_FOUND') && !isTesseraError(e, 'BAD_USER_INPUT')) throw e;
    };
    switch (op.t) {
      case 'stamp':
        return; // the server's times are its own
      case 'write': {
        const f = await at(op.path);
        if (f?.isFolder) return;
        const bytes = contentOf(op.v, op.size);
        if (await put(op.path, bytes, f ? f.revision : 0)) {
          if (f) this.dropped([f.contentHash], 'server');
          this.wrote(bytes, 'server');
        }
        return;
      }
      case 'append': {
        const f = await at(op.path);
        const old = f && !f.isFolder && f.contentHash ? this.contents.get(f.contentHash) : undefined;
        if (!f || old === undefined) return;
        if (await put(op.path, old + `+${op.v}`, f.revision)) {
          this.dropped([f.contentHash], 'server');
          this.wrote(old + `+${op.v}`, 'server');
        }
        return;
      }
      case 'mkdir':
        if (!(await at(op.path))) await api.createFolder(op.path).catch(tolerate);
        return;
      case 'move':
        if ((await at(op.from)) && !(await at(op.to)) && !op.to.startsWith(op.from + '/')) await api.moveFile(op.from, op.to).catch(tolerate);
        return;
      case 'rm': {
        const f = await at(op.path);
        if (!f) return;
        const hashes = await hashesUnder(op.path);
        await api.deleteFile({ id: f.id }).then(() => this.dropped(hashes, 'server'), tolerate);
        return;
      }
      case 'swap': {
        const f = await at(op.path);
        if (!f) return;
        const hashes = await hashesUnder(op.path);
        try {
          await api.deleteFile({ id: f.id });
        } catch (e) {
          return tolerate(e);
        }
        this.dropped(hashes, 'server');
        const bytes = contentOf(op.v, op.size);
        if (await put(f.isFolder ? op.path : `${op.path}/a`, bytes, 0)) this.wrote(bytes, 'server');
      }
    }
  }

  // ---- cycles ----

  /** One complete cycle of device `dev`; a rejection or a hang is a failure that ends the run. */
  async cycle(dev: number): Promise<CycleReport> {
    const d = this.device(dev)!;
    const before = await this.entries(dev);
    const k = ++this.cycles;
    if (process.env.SIM_TRACE) process.stdout.write(`cycle ${k} of ${d.name}\n`);
    const dropped = new Set<string>();
    this.droppedDuring.set(d.name, dropped);
    let r: CycleReport;
    try {
      r = await this.settled(d, d.engine.runOnce(), `cycle ${k} of ${d.name}`);
    } finally {
      this.droppedDuring.delete(d.name);
    }
    this.started(d, before, dropped, `on ${d.name} when cycle ${k} started`);
    this.noteErrors(r, k, d);
    return r;
  }

  /** Versions on disk when a completed cycle started are owed (those its own person deleted or replaced during it aside). */
  private started(d: Device, before: Map<string, { hash: string | null }>, dropped: Set<string>, when: string): void {
    const owed = this.cycleStartOf(d);
    if (!owed) return;
    for (const [, e] of before) if (e.hash && !dropped.has(e.hash) && !owed.has(e.hash)) owed.set(e.hash, when);
  }

  private noteErrors(r: CycleReport, k: number, d: Device): void {
    for (const o of r.errors) {
      const line = `cycle ${k} ${d.name}: ${describeOutcome(o)}`;
      this.actionErrors.push(line);
      if (!EXPECTED_ERRORS.has((o.error as { code?: string }).code ?? '')) this.unexpectedErrors.push(line);
    }
  }

  private async settled<T>(d: Device, p: Promise<T>, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SimAbort(`${what} hung (no end after ${this.cycleTimeoutMs} ms; server calls: ${d.hook.log.slice(-8).join(', ')})`)), this.cycleTimeoutMs);
    });
    try {
      return await Promise.race([p, hang]);
    } catch (e) {
      if (e instanceof SimAbort) {
        d.hung = true;
        p.catch(() => undefined);
        this.failures.push(e.message);
        throw e;
      }
      const msg = `${what} rejected: ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
      this.failures.push(msg);
      throw new SimAbort(msg);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A cycle abandoned just before its `at`-th server call (the engine then reopened); a cycle that ends first counts as complete. */
  private async crash(dev: number, at: number | string, mid: boolean): Promise<void> {
    const d = this.device(dev);
    if (!d || d.offline) return;
    const before = await this.entries(dev);
    d.hook.arm(at, mid ? 'crash-mid' : 'crash');
    const p = d.engine.runOnce();
    let done = false;
    p.then(() => (done = true), () => (done = true));
    const k = ++this.cycles;
    const started = Date.now();
    while (!done && !d.hook.crashed) {
      if (Date.now() - started > this.cycleTimeoutMs) await this.settled(d, p, `cycle ${k} of ${d.name}`);
      await sleep(2);
    }
    if (!d.hook.crashed) {
      const r = await this.settled(d, p, `cycle ${k} of ${d.name}`);
      this.started(d, before, new Set(), `on ${d.name} when cycle ${k} started`);
      this.noteErrors(r, k, d);
    } else {
      // let calls already answered finish what they do locally, as a crash a moment later would
      while (d.hook.inFlight > 0) await sleep(2);
      await sleep(20);
    }
    await this.reopen(d);
  }

  /**
   * kill -9 of a real `tessera sync --once` on the device's folder (its engine closed first, so
   * the process can take the folder), just before the process's `at`-th server call; then the
   * engine is reopened. A process that ends by itself ran a complete cycle; one that exits
   * with an error other than failed actions, or runs past the cycle timeout, is a failure.
   */
  private async kill(dev: number, at: number | string): Promise<void> {
    const d = this.device(dev);
    if (!d || d.offline) return;
    const before = await this.entries(dev);
    await this.closeEngine(d);
    const k = ++this.cycles;
    const child = spawn(process.execPath, ['-r', join(REPO, 'test', 'sync', 'sim', 'kill-at.cjs'), join(REPO, 'bin', 'tessera.js'), 'sync', d.folder, '--once'], {
      env: { ...process.env, TESSERA_SERVER: this.serverUrl, TESSERA_TOKEN: d.client.token!, TESSERA_CONFIG_DIR: join(this.scratch, `cli-${d.name}`), SIM_KILL_AT: String(at), SIM_ORDER: String(this.order) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (b) => { out += b; });
    child.stderr!.on('data', (b) => { out += b; });
    const exit = new Promise<{ code: number | null; signal: string | null }>((r) => child.on('exit', (code, signal) => r({ code, signal })));
    let timer: NodeJS.Timeout | undefined;
    const hang = new Promise<null>((r) => { timer = setTimeout(() => r(null), this.cycleTimeoutMs + 10_000); });
    const ended = await Promise.race([exit, hang]);
    clearTimeout(timer);
    const what = `tessera sync --once (cycle ${k} of ${d.name}, to be killed before call ${at})`;
    if (process.env.SIM_TRACE) process.stdout.write(`cycle ${k} of ${d.name}: ${what}: ${ended ? ended.signal ?? `exit ${ended.code}` : 'hung'}\n${out.replace(/^/gm, '  cli: ')}\n`);
    if (!ended) {
      child.kill('SIGKILL');
      await exit;
      this.failures.push(`${what} hung:\n    ${out.trim().split('\n').slice(-6).join('\n    ')}`);
      throw new SimAbort(`${what} hung`);
    }
    const failed = ended.code !== null && ended.code !== 0;
    if (failed && !out.includes('SYNC_INCOMPLETE')) {
      this.failures.push(`${what} exited ${ended.code}:\n    ${out.trim().split('\n').slice(-6).join('\n    ')}`);
      throw new SimAbort(`${what} failed`);
    }
    if (ended.signal === null) {
      // it ran a complete cycle (failed actions are retried by the next one)
      this.started(d, before, new Set(), `on ${d.name} when cycle ${k} (tessera sync --once) started`);
      for (const line of out.split('\n').filter((l) => l.startsWith('✗'))) this.actionErrors.push(`cycle ${k} ${d.name} (cli): ${line.trim()}`);
    }
    d.hook = new CallHook();
    d.hung = false;
    d.engine = await this.openEngine(d);
  }

  /** A cycle of `dev` with `ops` run just before its `at`-th server call (or after it, if it makes fewer calls). */
  private async race(dev: number, at: number | string, ops: Op[]): Promise<void> {
    const d = this.device(dev);
    if (!d || d.offline) return;
    const inner = ops.filter((o) => !(('dev' in o) && o.dev === dev));
    d.hook.arm(at, 'race', async () => {
      for (const o of inner) await this.apply(o);
    });
    try {
      await this.cycle(dev);
    } finally {
      const fired = d.hook.fired;
      d.hook.disarm();
      if (!fired) for (const o of inner) await this.apply(o);
    }
  }
}

export function describeOutcome(o: ActionOutcome): string {
  const a = o.action;
  const where = 'from' in a ? `${a.from} -> ${a.path}` : a.path;
  return `${a.type} ${where}${o.error ? `: ${(o.error as { code?: string }).code ?? o.error.name} ${o.error.message}` : ''}`;
}

/** Action error codes a race or a concurrent edit explains (the action is planned again next cycle). */
const EXPECTED_ERRORS = new Set(['CONFLICT', 'CHANGED', 'NOT_FOUND']);

/** The repository's root (this file runs from test/sync/sim, or from dist/test/sync/sim once compiled). */
const REPO = ((up) => (basename(up) === 'dist' ? dirname(up) : up))(resolve(__dirname, '..', '..', '..'));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

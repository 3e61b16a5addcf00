import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../../clients/sdk/client';
import { SyncEngine, type CycleReport } from '../../../clients/sync/engine';
import { nextOp, type GenState, type Kinds } from './gen';
import { Rng, type Op, type OpClass } from './ops';
import { hashOf, SimAbort, World, describeOutcome } from './world';

/**
 * Shared folders in the simulation (issue 14): a second user, "the member", with one device,
 * gets the folder `/sh` of the run's account shared as EDITOR or VIEWER; it is mounted at `/sh`
 * in the member's tree. Member ops are ordinary ops whose `who` (or sync `dev`) is MEMBER and
 * whose paths are relative to the mount (`/a` is the member's `/sh/a`); a run with them starts
 * with a `share` op, so a printed op list replays as it ran. The member also holds files of
 * their own outside the mount (`/mine.txt`, `/own/b`) that nobody else can touch.
 *
 * Checked after everyone is quiet (besides check.ts' invariants for the owner's devices):
 * the member's local mount is identical to the owner's shared subtree (wherever the owner moved
 * it); nothing outside the mount changed in the member's tree, locally or on the server (but a
 * viewer's refused edits, kept as conflicted copies beside the mount: clients/sync/read-only.ts);
 * no version the member wrote is lost (in the owner's tree, or, for a viewer, in the member's
 * own tree); a reopened member engine finds nothing to do.
 */
export const MEMBER = 7;
const MOUNT = '/sh';
const MEMBER_CLASSES: ReadonlySet<OpClass> = new Set(['files', 'moves', 'folders', 'swap']);
const OWN = { '/mine.txt': 'member only', '/own/b': 'member own b' } as const;

/** Which seeds share (about one in four: EDITOR, and every third of those VIEWER); null: a plain run. */
export function shareRoleOf(seed: number): 'EDITOR' | 'VIEWER' | null {
  if (seed % 4 !== 2) return null;
  return seed % 3 === 0 ? 'VIEWER' : 'EDITOR';
}

/** The share op of an op list, if it has one. */
export function shareOf(ops: Op[]): 'EDITOR' | 'VIEWER' | null {
  const s = ops.find((o) => o.t === 'share');
  return s && s.t === 'share' ? s.role : null;
}

/**
 * The next op of a sharing run: about a third of the time the member's (a cycle of their
 * device, or an edit inside their mount, generated as gen.ts does for one device from the
 * mount's subtree), otherwise `owner()` (the run's usual next op).
 */
export async function nextShareOp(rng: Rng, st: GenState, w: ShareWorld, owner: () => Promise<Op>): Promise<Op> {
  if (!rng.chance(0.3)) return owner();
  const mine: GenState = { offline: new Set(), seq: st.seq };
  const op = await nextOp(rng, { devices: 1, classes: MEMBER_CLASSES }, mine, async () => w.mountTree());
  st.seq = mine.seq;
  if (op.t === 'sync') return { t: 'sync', dev: MEMBER };
  if (!('who' in op)) return { t: 'sync', dev: MEMBER };
  return { ...op, who: MEMBER, ...('v' in op ? { v: `m${op.v}` } : {}) } as Op;
}

/** A World with the member and the share (see the file comment). */
export class ShareWorld extends World {
  member!: { client: TesseraClient; folder: string; engine: SyncEngine; hung: boolean };
  private sharedId = '';
  private memberCycles = 0;

  constructor(serverUrl: string, n: number, readonly role: 'EDITOR' | 'VIEWER', cycleTimeoutMs?: number, order = 0) {
    super(serverUrl, n, cycleTimeoutMs, order);
  }

  async setup(): Promise<void> {
    await super.setup();
    const email = `sim-m-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    const client = new TesseraClient({ server: this.serverUrl });
    await client.signUp(email, 'correct horse battery', { deviceName: 'member' });
    const folder = await mkdtemp(join(tmpdir(), 'tessera-sim-m-'));
    for (const [p, v] of Object.entries(OWN)) {
      const tmp = join(folder, 'up.tmp');
      await writeFile(tmp, v);
      await client.upload(tmp, p);
      await rm(tmp);
    }
    this.sharedId = (await this.api.createFolder(MOUNT)).id;
    await this.api.share({ id: this.sharedId }, email, this.role);
    const engine = await SyncEngine.open({ client, folder, deviceName: 'member' });
    this.member = { client, folder, engine, hung: false };
  }

  async dispose(): Promise<void> {
    if (this.member) {
      if (this.member.hung) (this.member.engine as unknown as { db: { close(): void } }).db.close();
      else await this.member.engine.close().catch(() => undefined);
      await rm(this.member.folder, { recursive: true, force: true });
    }
    await super.dispose();
  }

  async apply(op: Op): Promise<void> {
    if (op.t === 'share') return;
    if (op.t === 'sync' && op.dev === MEMBER) return void (await this.memberCycle());
    if (!('who' in op) || op.who !== MEMBER) return super.apply(op);
    // only while the mount is there locally (an edit where it went would make a folder of the member's own)
    if (!(await this.localKinds()).get(MOUNT)) return;
    const inMount = (p: string) => MOUNT + p;
    const mapped = op.t === 'move' ? { ...op, from: inMount(op.from), to: inMount(op.to) } : { ...op, path: inMount(op.path) };
    await this.localEdit(this.member.folder, mapped, 'member');
  }

  /** The member's local mount, as paths relative to it. */
  async mountTree(): Promise<Kinds> {
    const out: Kinds = new Map();
    for (const [p, k] of await this.localKinds()) if (p.startsWith(MOUNT + '/')) out.set(p.slice(MOUNT.length), k);
    return out;
  }

  /** One cycle of the member's device; a rejection or a hang ends the run. */
  async memberCycle(): Promise<CycleReport> {
    const k = ++this.memberCycles;
    let timer: NodeJS.Timeout | undefined;
    const p = this.member.engine.runOnce();
    const hang = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new SimAbort(`member cycle ${k} hung`)), this.cycleTimeoutMs); });
    try {
      const r = await Promise.race([p, hang]);
      for (const o of r.errors) this.actionErrors.push(`member cycle ${k}: ${describeOutcome(o)}`);
      return r;
    } catch (e) {
      if (e instanceof SimAbort) {
        this.member.hung = true;
        p.catch(() => undefined);
      }
      const msg = e instanceof SimAbort ? e.message : `member cycle ${k} rejected: ${(e as { code?: string }).code ?? ''} ${(e as Error).message}`;
      this.failures.push(msg);
      throw new SimAbort(msg);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * After check.ts' settle: rounds of the member's cycle and every owner device's cycle until a
   * round does nothing; then the member's versions kept in the member's own tree (a viewer's
   * refused edits) are struck from what check.ts requires in the owner's tree (checkShare
   * requires them in the member's).
   */
  async settleShare(): Promise<void> {
    for (let round = 0; round < 8; round++) {
      const did: string[] = (await this.memberCycle()).outcomes.map((o) => `member ${describeOutcome(o)}`);
      for (const d of this.devices) did.push(...(await this.cycle(d.index)).outcomes.map((o) => `dev${d.index} ${describeOutcome(o)}`));
      if (!did.length) {
        const own = new Set([...(await this.memberServer()).values()].map((e) => e.hash));
        for (const [h, who] of [...this.needed]) if (who === 'member' && own.has(h)) this.needed.delete(h);
        return;
      }
      if (round === 7) this.failures.push(`member share not quiet after 8 rounds; the last did:\n    ${did.join('\n    ')}`);
    }
  }

  /** The sharing invariants (see the file comment); violations go to `failures`. */
  async checkShare(): Promise<void> {
    const fail = (s: string) => this.failures.push(s);
    const show = (m: Map<string, { kind: string; hash: string | null }>) =>
      [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, e]) => (e.kind === 'folder' ? `${p}/` : `${p}=${JSON.stringify(this.contents.get(e.hash!) ?? e.hash)}`)).join(' ');
    const local = await this.memberLocal();
    const root = await this.ownerPathOf();
    // 1. the member's mount is the owner's subtree
    if (root) {
      const owner = new Map([...(await this.entries('s'))].filter(([p]) => p.startsWith(root + '/')).map(([p, e]) => [p.slice(root.length), e]));
      const mine = new Map([...local].filter(([p]) => p.startsWith(MOUNT + '/')).map(([p, e]) => [p.slice(MOUNT.length), e]));
      if (show(owner) !== show(mine)) fail(`the member's mount differs from the owner's ${root}:\n    member: ${show(mine)}\n    owner: ${show(owner)}`);
    }
    // 2. outside the mount: the member's own files as they were, plus only a viewer's copies; local = server
    const outside = (m: Map<string, { kind: string; hash: string | null }>) =>
      new Map([...m].filter(([p]) => (root ? p !== MOUNT && !p.startsWith(MOUNT + '/') : true)));
    const mineOut = outside(local);
    const serverOut = outside(await this.memberServer());
    if (show(mineOut) !== show(serverOut)) fail(`the member's own tree differs locally and on the server:\n    local: ${show(mineOut)}\n    server: ${show(serverOut)}`);
    for (const [p, v] of Object.entries(OWN)) if (mineOut.get(p)?.hash !== hashOf(v)) fail(`the member's own ${p} changed`);
    const allowed = (p: string) => p in OWN || p === '/own' || p.includes('conflicted copy') || (!root && (p === MOUNT || p.startsWith(MOUNT + '/')));
    for (const p of mineOut.keys()) if (!allowed(p)) fail(`something appeared outside the mount in the member's tree: ${p}`);
    // an editor's writes stay in the mount, but for what was written where the owner had trashed the folder (SHARE_TRASHED)
    if (this.role === 'EDITOR') for (const p of mineOut.keys()) if (p.includes('conflicted copy') && !p.startsWith(`${MOUNT} (conflicted copy`)) fail(`an editor's write went outside the mount: ${p}`);
    // 3. (check.ts' "no lost version" covers the member's versions: settleShare left only those owed to the owner's tree)
    // 4. a reopened member engine has nothing to do
    if (this.failures.length) return;
    await this.member.engine.close();
    this.member.engine = await SyncEngine.open({ client: this.member.client, folder: this.member.folder, deviceName: 'member' });
    const r = await this.memberCycle();
    if (r.outcomes.length) fail(`the member's reopened engine still had work: ${r.outcomes.map(describeOutcome).join('; ')}`);
  }

  /** Where the shared folder is in the owner's tree now (null: trashed). */
  private async ownerPathOf(): Promise<string | null> {
    const r = await this.api.api.request<{ file: { path: string; status: string } | null }>('query($id: ID!) { file(id: $id) { path status } }', { id: this.sharedId });
    return r.file && r.file.status === 'AVAILABLE' ? r.file.path : null;
  }

  private async localKinds(): Promise<Kinds> {
    const out: Kinds = new Map();
    for (const [p, e] of await this.memberLocal()) out.set(p, e.kind);
    return out;
  }

  private async memberLocal(): Promise<Map<string, { kind: 'file' | 'folder'; hash: string | null }>> {
    const out = new Map<string, { kind: 'file' | 'folder'; hash: string | null }>();
    const rootDir = this.member.folder;
    const walk = async (rel: string) => {
      for (const d of await readdir(join(rootDir, rel), { withFileTypes: true })) {
        if (rel === '' && d.name === '.tessera') continue;
        const p = `${rel}/${d.name}`;
        if (d.isDirectory()) {
          out.set(p, { kind: 'folder', hash: null });
          await walk(p);
        } else out.set(p, { kind: 'file', hash: hashOf(await readFile(join(rootDir, p))) });
      }
    };
    await walk('');
    return out;
  }

  /** The member's tree on the server, the mount included (at the member's paths). */
  private async memberServer(): Promise<Map<string, { kind: 'file' | 'folder'; hash: string | null }>> {
    const out = new Map<string, { kind: 'file' | 'folder'; hash: string | null }>();
    const walk = async (p: string) => {
      for (const f of await this.member.client.listFolder(p)) {
        if (f.status !== 'AVAILABLE') continue;
        out.set(f.path, { kind: f.isFolder ? 'folder' : 'file', hash: f.isFolder ? null : f.contentHash });
        if (f.isFolder) await walk(f.path);
      }
    };
    await walk('/');
    return out;
  }
}

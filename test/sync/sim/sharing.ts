import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../../clients/sdk/client';
import { nextOp, type GenOptions, type GenState, type Kinds } from './gen';
import { revisionHashesSince } from './check';
import { CallHook } from './hook';
import type { Op, OpClass, Rng, Who } from './ops';
import { hashOf, World, describeOutcome, type Device } from './world';

/**
 * Shared folders in the simulation (issue 14): a second user, "the member", with one device,
 * gets the folder `/sh` of the run's account shared as EDITOR or VIEWER; it is mounted at `/sh`
 * in the member's tree. Member ops are ordinary ops whose `who` (or `dev`) is MEMBER and whose
 * paths are relative to the mount (`/a` is the member's `/sh/a`); a run with them starts with a
 * `share` op, so a printed op list replays as it ran. A member path starting with `~` is in the
 * member's own tree instead (`~/own/d` is `/own/d`; half the member's edits see that tree beside
 * the mount, so moves cross the mount's edge both ways). The member's device is a Device like the
 * owner's (its own call hook, the run's transfer order), so it gets cycles, crashes, kills (a
 * real `tessera sync --once` with the member's token), races and offline periods too; its races
 * run the owner's edits inside the shared folder (the server's, or an owner device's followed by
 * its cycle). The member also holds files of their own outside the mount (`/mine.txt`,
 * `/own/b`) that nobody else can touch.
 *
 * Checked after everyone is quiet (besides check.ts' invariants for the owner's devices):
 * the member's local mount is identical to the owner's shared subtree (wherever the owner moved
 * it); nothing outside the mount changed in the member's tree, locally or on the server (but a
 * viewer's refused edits, kept as conflicted copies beside the mount: clients/sync/read-only.ts);
 * no version the member wrote is lost (in the owner's tree, or, for a viewer, in the member's
 * own tree); every version on the member's disk when one of their cycles started is live, a
 * revision or in the trash, in either tree (check.ts' invariant 3); a reopened member engine
 * finds nothing to do.
 */
export const MEMBER = 7;
const MOUNT = '/sh';
/** The op classes the member's ops draw on, of those the run enables (`server`: the owner's server edits inside the member's races). */
const MEMBER_CLASSES: ReadonlySet<OpClass> = new Set(['files', 'moves', 'folders', 'swap', 'offline', 'crash', 'race', 'server']);
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
 * The next op of a sharing run: about a third of the time the member's, otherwise `owner()` (the
 * run's usual next op). The member's op comes from gen.ts' nextOp acting for one device: in its
 * view device 0 is the member's (its tree: the member's mount, paths relative to it) and devices
 * 1..n are the owner's devices 0..n-1, which, like the server, only edit inside the member's
 * races, in the shared folder (their trees: their subtree at the shared folder's current path in
 * the owner's tree); `toRun` maps the op back (devices, paths, version tags).
 */
export async function nextShareOp(rng: Rng, o: GenOptions, st: GenState, w: ShareWorld, owner: () => Promise<Op>): Promise<Op> {
  if (!rng.chance(0.3)) return owner();
  const classes = new Set([...o.classes].filter((c) => MEMBER_CLASSES.has(c)));
  const root = (await w.ownerPathOf()) ?? MOUNT;
  const mine: GenState = { offline: new Set(st.offline.has(MEMBER) ? [0] : []), seq: st.seq };
  const withOwn = rng.chance(0.5);
  const tree = (who: Who) => (who === 0 ? w.mountTree(withOwn) : w.subtree(who === 's' ? 's' : who - 1, root));
  const op = await nextOp(rng, { devices: o.devices + 1, classes, acting: [0] }, mine, tree);
  st.seq = mine.seq;
  return toRun(op, root);
}

/** An op in the member generator's view (see nextShareOp) as the run applies it. */
function toRun(op: Op, root: string): Op {
  const dev = (i: number) => (i === 0 ? MEMBER : i - 1);
  switch (op.t) {
    case 'sync':
    case 'offline':
    case 'online':
    case 'crash':
    case 'kill':
      return { ...op, dev: dev(op.dev) };
    case 'race':
      return { ...op, dev: dev(op.dev), ops: op.ops.map((x) => toRun(x, root)) };
    case 'share':
      return op;
  }
  const who: Who = op.who === 's' ? 's' : dev(op.who);
  const v = 'v' in op ? { v: `${who === MEMBER ? 'm' : who === 's' ? 's' : `d${who}`}v${op.v.slice(op.v.lastIndexOf('v') + 1)}` } : {};
  if (who === MEMBER) return { ...op, who, ...v } as Op;
  const at = (p: string) => root + p;
  const paths = op.t === 'move' ? { from: at(op.from), to: at(op.to) } : op.t === 'stamp' ? { path: at(op.path), like: at(op.like) } : { path: at(op.path) };
  return { ...op, who, ...paths, ...v } as Op;
}

/** A World with the member and the share (see the file comment). */
export class ShareWorld extends World {
  member!: Device;
  private sharedId = '';
  /** Invariant 3 for the member's cycles: versions on the member's disk when a cycle started (hash -> when). */
  private readonly memberCycleStart = new Map<string, string>();
  /** The member's change cursor before anything of theirs was written. */
  private memberCursor0 = '';
  /** Paths of the member's own tree that the member's ops wrote or moved things to or from (`~` paths). */
  private readonly ownTouched = new Set<string>();

  constructor(serverUrl: string, n: number, readonly role: 'EDITOR' | 'VIEWER', cycleTimeoutMs?: number, order = 0) {
    super(serverUrl, n, cycleTimeoutMs, order);
  }

  async setup(): Promise<void> {
    await super.setup();
    const email = `sim-m-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
    const client = new TesseraClient({ server: this.serverUrl });
    await client.signUp(email, 'correct horse battery', { deviceName: 'member' });
    this.memberCursor0 = await client.latestCursor();
    const folder = await mkdtemp(join(tmpdir(), 'tessera-sim-m-'));
    for (const [p, v] of Object.entries(OWN)) {
      const tmp = join(folder, 'up.tmp');
      await writeFile(tmp, v);
      await client.upload(tmp, p);
      await rm(tmp);
    }
    this.sharedId = (await this.api.createFolder(MOUNT)).id;
    await this.api.share({ id: this.sharedId }, email, this.role);
    const d = { index: MEMBER, name: 'member', client, folder, hook: new CallHook(), offline: false, hung: false };
    this.member = { ...d, engine: await this.openEngine(d) };
  }

  async dispose(): Promise<void> {
    if (this.member) {
      await this.closeEngine(this.member);
      await rm(this.member.folder, { recursive: true, force: true });
    }
    await super.dispose();
  }

  device(i: number): Device | undefined {
    return i === MEMBER ? this.member : super.device(i);
  }

  protected cycleStartOf(d: Device): Map<string, string> | null {
    return d === this.member ? this.memberCycleStart : super.cycleStartOf(d);
  }

  async apply(op: Op): Promise<void> {
    if (op.t === 'share') return;
    if (!('who' in op) || op.who !== MEMBER) return super.apply(op);
    if (process.env.SIM_TRACE) process.stdout.write(`op ${JSON.stringify(op)}\n`);
    // only while the mount is there locally (an edit where it went would make a folder of the member's own)
    if (!(await this.tree(MEMBER)).get(MOUNT)) return;
    const inMount = (p: string) => {
      if (!p.startsWith('~')) return MOUNT + p;
      this.ownTouched.add(p.slice(1));
      return p.slice(1);
    };
    const mapped = op.t === 'move' ? { ...op, from: inMount(op.from), to: inMount(op.to) } : op.t === 'stamp' ? { ...op, path: inMount(op.path), like: inMount(op.like) } : { ...op, path: inMount(op.path) };
    await this.localEdit(this.member.folder, mapped, 'member');
  }

  /** The member's local mount, as paths relative to it; `withOwn`: and their own tree beside it, as `~` paths. */
  async mountTree(withOwn = false): Promise<Kinds> {
    const out = await this.subtree(MEMBER, MOUNT);
    if (withOwn) for (const [p, k] of await this.tree(MEMBER)) if (p !== MOUNT && !p.startsWith(MOUNT + '/')) out.set(`~${p}`, k);
    return out;
  }

  /** `who`'s tree under `root` (a device's folder or the owner's tree on the server), as paths relative to it. */
  async subtree(who: Who, root: string): Promise<Kinds> {
    const out: Kinds = new Map();
    for (const [p, k] of await this.tree(who)) if (p.startsWith(root + '/')) out.set(p.slice(root.length), k);
    return out;
  }

  /** Where the shared folder is in the owner's tree now (null: trashed). */
  async ownerPathOf(): Promise<string | null> {
    const r = await this.api.api.request<{ file: { path: string; status: string } | null }>('query($id: ID!) { file(id: $id) { path status } }', { id: this.sharedId });
    return r.file && r.file.status === 'AVAILABLE' ? r.file.path : null;
  }

  /**
   * After check.ts' settle: the member's device back online, then rounds of the member's cycle
   * and every owner device's cycle until a round does nothing; then the versions live in the
   * member's own tree (a viewer's refused edits, what the member moved out of the mount) are
   * struck from what check.ts requires in the owner's tree.
   */
  async settleShare(): Promise<void> {
    this.member.offline = false;
    for (let round = 0; round < 8; round++) {
      const did: string[] = (await this.cycle(MEMBER)).outcomes.map((o) => `member ${describeOutcome(o)}`);
      for (const d of this.devices) did.push(...(await this.cycle(d.index)).outcomes.map((o) => `dev${d.index} ${describeOutcome(o)}`));
      if (!did.length) {
        const own = new Set([...(await this.memberServer()).values()].map((e) => e.hash));
        for (const [h] of [...this.needed]) if (own.has(h)) this.needed.delete(h);
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
    const local = await this.entries(MEMBER);
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
    // a path the member's ops touched, inside one, or a folder holding one (made as a parent)
    const touched = (p: string) => [...this.ownTouched].some((t) => p === t || p.startsWith(t + '/') || t.startsWith(p + '/'));
    for (const [p, v] of Object.entries(OWN)) if (!touched(p) && mineOut.get(p)?.hash !== hashOf(v)) fail(`the member's own ${p} changed`);
    const allowed = (p: string) => p in OWN || p === '/own' || touched(p) || p.includes('conflicted copy') || (!root && (p === MOUNT || p.startsWith(MOUNT + '/')));
    for (const p of mineOut.keys()) if (!allowed(p)) fail(`something appeared outside the mount in the member's tree: ${p}`);
    // an editor's writes stay in the mount, but for what was written where the owner had trashed the folder (SHARE_TRASHED)
    if (this.role === 'EDITOR') for (const p of mineOut.keys()) if (p.includes('conflicted copy') && !p.startsWith(`${MOUNT} (conflicted copy`)) fail(`an editor's write went outside the mount: ${p}`);
    // 3. (check.ts' "no lost version" covers the member's versions: settleShare left only those owed to the owner's tree);
    // every version on the member's disk when one of their cycles started is live, a revision, or in the trash, in
    // the owner's tree or the member's own
    const kept = new Set<string>();
    for (const m of [await this.entries('s'), await this.memberServer()]) for (const e of m.values()) if (e.hash) kept.add(e.hash);
    for (const h of await revisionHashesSince(this.api, this.cursor0)) kept.add(h);
    for (const h of await revisionHashesSince(this.member.client, this.memberCursor0)) kept.add(h);
    if (process.env.SIM_TRACE) process.stdout.write(`member: ${this.memberCycleStart.size} version(s) owed from cycle starts, ${kept.size} kept\n`);
    for (const [h, when] of this.memberCycleStart) {
      if (!kept.has(h)) fail(`gone: ${JSON.stringify(this.contents.get(h) ?? h.slice(0, 12))} (${when}) is neither live nor a revision nor in the trash, in either tree`);
    }
    // 4. a reopened member engine has nothing to do
    if (this.failures.length) return;
    await this.reopen(this.member);
    const r = await this.cycle(MEMBER);
    if (r.outcomes.length) fail(`the member's reopened engine still had work: ${r.outcomes.map(describeOutcome).join('; ')}`);
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

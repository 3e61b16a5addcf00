import { checkInvariants, settle } from './check';
import { nextOp, type GenOptions, type GenState } from './gen';
import { describeOps, OP_CLASSES, Rng, type Op, type OpClass, type Who } from './ops';
import { MEMBER, ShareWorld, nextShareOp, shareOf, shareRoleOf } from './sharing';
import { SimAbort, World } from './world';

export interface SeedOptions {
  /** Also fail on action errors other than CONFLICT / CHANGED / NOT_FOUND. */
  strictErrors?: boolean;
  /** Devices (1-3). */
  devices: number;
  /** Ops per seed. */
  ops: number;
  classes: readonly OpClass[];
  cycleTimeoutMs?: number;
}

export const DEFAULT_SEED_OPTIONS: SeedOptions = { devices: 2, ops: 12, classes: OP_CLASSES };

export interface RunResult {
  /** The seed, when the ops were generated from one. */
  seed?: number;
  /** The ops as they ran (for a seed: as generated), replayable with runOps. */
  ops: Op[];
  failures: string[];
  actionErrors: string[];
  cycles: number;
  /** The seed of the transfer order (seededTransferOrder; a seed's own number when generated from one). */
  order: number;
}

/** How one run goes: `order` seeds the order of each plan's transfers (default 0; see seededTransferOrder). */
export interface RunOptions {
  cycleTimeoutMs?: number;
  strictErrors?: boolean;
  order?: number;
}

/** Runs `ops` on a fresh account, settles and checks the invariants. Replays a printed op list exactly. */
export async function runOps(serverUrl: string, ops: Op[], devices: number, o: RunOptions = {}): Promise<RunResult> {
  return drive(serverUrl, devices, o, shareOf(ops), async (w, ran) => {
    for (const op of ops) {
      ran.push(op);
      await w.apply(op);
    }
    return ran;
  });
}

/** Generates and runs seed `seed`'s ops (each chosen from the state at that moment), settles and checks. */
export async function runSeed(serverUrl: string, seed: number, o: SeedOptions): Promise<RunResult> {
  const rng = new Rng(seed);
  const devices = Math.max(1, Math.min(3, o.devices));
  const st: GenState = { offline: new Set(), seq: 1 };
  const role = shareRoleOf(seed);
  const r = await drive(serverUrl, devices, { ...o, order: seed }, role, async (w, ran) => {
    if (role) ran.push({ t: 'share', role });
    // in a sharing run the member's edits (in their mount) may land inside the owner's devices' races too
    const gen: GenOptions = { devices, classes: new Set(o.classes), ...(role ? { racers: [MEMBER] } : {}) };
    const tree = (who: Who) => (w instanceof ShareWorld && who === MEMBER ? w.mountTree() : w.tree(who));
    for (let i = 0; i < o.ops; i++) {
      const owner = () => nextOp(rng, gen, st, tree);
      const op = w instanceof ShareWorld ? await nextShareOp(rng, gen, st, w, owner) : await owner();
      if (op.t === 'offline') st.offline.add(op.dev);
      if (op.t === 'online') st.offline.delete(op.dev);
      ran.push(op);
      await w.apply(op);
    }
    return ran;
  });
  return { ...r, seed };
}

async function drive(serverUrl: string, devices: number, o: RunOptions, role: 'EDITOR' | 'VIEWER' | null,
  body: (w: World, ran: Op[]) => Promise<Op[]>): Promise<RunResult> {
  const w = role ? new ShareWorld(serverUrl, devices, role, o.cycleTimeoutMs, o.order ?? 0) : new World(serverUrl, devices, o.cycleTimeoutMs, o.order ?? 0);
  const ran: Op[] = [];
  try {
    await w.setup();
    await body(w, ran);
    await settle(w);
    if (w instanceof ShareWorld && w.failures.length === 0) await w.settleShare();
    if (w.failures.length === 0) await checkInvariants(w);
    if (w instanceof ShareWorld && w.failures.length === 0) await w.checkShare();
    if (o.strictErrors) for (const e of w.unexpectedErrors) w.failures.push(`unexpected action error: ${e}`);
  } catch (e) {
    if (!(e instanceof SimAbort)) w.failures.push(`the simulation threw: ${(e as Error).stack ?? e}`);
  } finally {
    await w.dispose().catch(() => undefined);
  }
  return { ops: ran, failures: w.failures, actionErrors: w.actionErrors, cycles: w.cycles, order: o.order ?? 0 };
}

/** Devices an op list needs (highest device index + 1, at least 1). */
export function devicesOf(ops: Op[]): number {
  let n = 1;
  const visit = (o: Op) => {
    if ('dev' in o && o.dev !== MEMBER) n = Math.max(n, o.dev + 1);
    if ('who' in o && typeof o.who === 'number' && o.who !== MEMBER) n = Math.max(n, o.who + 1);
    if (o.t === 'race') o.ops.forEach(visit);
  };
  ops.forEach(visit);
  return n;
}

/**
 * Delta debugging (ddmin) over the op list: drops chunks of ops, then single ops (and single
 * ops inside races), keeping any smaller list that still fails, within `budget` reruns.
 */
export async function minimize(serverUrl: string, ops: Op[], devices: number, budget = 60, log?: (s: string) => void, strictErrors = false, order = 0): Promise<Op[]> {
  let runs = 0;
  const fails = async (candidate: Op[]) => {
    runs++;
    const r = await runOps(serverUrl, candidate, devices, { strictErrors, order });
    return r.failures.length > 0;
  };
  let cur = ops;
  let n = 2;
  while (cur.length >= 2 && runs < budget) {
    const size = Math.ceil(cur.length / n);
    let reduced = false;
    for (let i = 0; i < cur.length && runs < budget; i += size) {
      const candidate = [...cur.slice(0, i), ...cur.slice(i + size)];
      if (await fails(candidate)) {
        cur = candidate;
        n = Math.max(n - 1, 2);
        reduced = true;
        log?.(`  minimize: ${cur.length} ops still fail`);
        break;
      }
    }
    if (!reduced) {
      if (n >= cur.length) break;
      n = Math.min(cur.length, n * 2);
    }
  }
  // the ops inside races
  for (let i = 0; i < cur.length && runs < budget; i++) {
    const op = cur[i];
    if (op.t !== 'race') continue;
    for (let j = op.ops.length - 1; j >= 0 && runs < budget; j--) {
      const candidate = [...cur];
      candidate[i] = { ...op, ops: op.ops.filter((_, k) => k !== j) };
      if (await fails(candidate)) cur = candidate;
    }
  }
  return cur;
}

/** The report of a failing seed: seed, failures, minimized ops, and how to replay. */
export function failureReport(what: string, r: RunResult, minimized?: Op[]): string {
  const ops = minimized ?? r.ops;
  return [
    `${what} FAILED:`,
    ...r.failures.map((f) => `  - ${f}`),
    ...(r.actionErrors.length ? ['  action errors along the way:', ...distinct(r.actionErrors).slice(0, 10).map((e) => `    ${e}`)] : []),
    `  ${minimized ? `minimized ops (${ops.length} of ${r.ops.length})` : `ops (${ops.length})`}:`,
    describeOps(ops),
    `  replay: SIM_ORDER=${r.order} SIM_OPS='${JSON.stringify(ops)}' npm run simulate`,
  ].join('\n');
}

/** Runs `seeds` with up to `parallel` at once (each on its own account; a seed's result does not depend on the others). */
export async function runSeeds(serverUrl: string, seeds: number[], o: SeedOptions, parallel: number, each: (seed: number, r: RunResult) => Promise<void> | void): Promise<void> {
  const queue = [...seeds];
  await Promise.all(Array.from({ length: Math.max(1, parallel) }, async () => {
    for (let seed = queue.shift(); seed !== undefined; seed = queue.shift()) await each(seed, await runSeed(serverUrl, seed, o));
  }));
}

/** Each error once (without its cycle number), with how often it happened. */
function distinct(lines: string[]): string[] {
  const n = new Map<string, number>();
  for (const l of lines) {
    const k = l.replace(/^cycle \d+ /, '');
    n.set(k, (n.get(k) ?? 0) + 1);
  }
  return [...n].map(([k, c]) => (c > 1 ? `${k} (x${c})` : k));
}

/** Devices a named scenario runs with: the ones it names, and at least two (so another device must converge too). */
export function scenarioDevices(ops: Op[]): number {
  return Math.max(2, devicesOf(ops));
}

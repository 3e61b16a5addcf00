import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { REVISIONS } from '../../../clients/sdk/operations';
import type { ChangeInfo } from '../../../clients/sdk/changes';
import type { TesseraClient } from '../../../clients/sdk/client';
import { describeOutcome, type World } from './world';

/** Rounds of "every device runs a cycle" before a run that still has work counts as not converging. */
const MAX_ROUNDS = 8;

/** Brings every device back online and runs rounds of cycles until one round does nothing anywhere. */
export async function settle(w: World): Promise<void> {
  for (const d of w.devices) d.offline = false;
  let last: string[] = [];
  for (let round = 0; round < MAX_ROUNDS; round++) {
    last = [];
    for (const d of w.devices) {
      const r = await w.cycle(d.index);
      for (const o of r.outcomes) last.push(`dev${d.index} ${describeOutcome(o)}`);
    }
    if (last.length === 0) return;
  }
  w.failures.push(`not quiet after ${MAX_ROUNDS} rounds of cycles; the last round did:\n    ${last.join('\n    ')}`);
}

/**
 * The invariants, checked once the devices are settled; each violation is added to
 * `w.failures`. (Cycles that reject or hang were already recorded while the ops ran.)
 */
export async function checkInvariants(w: World): Promise<void> {
  const fail = (s: string) => w.failures.push(s);
  const show = (h: string) => JSON.stringify(w.contents.get(h) ?? h.slice(0, 12));

  // 1. every folder and the server hold the same tree (paths, kinds, bytes)
  const server = await w.entries('s');
  const fmt = (m: Map<string, { kind: string; hash: string | null }>) =>
    [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, e]) => (e.kind === 'folder' ? `${p}/` : `${p}=${show(e.hash!)}`)).join(' ');
  for (const d of w.devices) {
    const local = await w.entries(d.index);
    if (fmt(local) !== fmt(server)) fail(`dev${d.index} differs from the server:\n    dev${d.index}: ${fmt(local)}\n    server: ${fmt(server)}`);
  }

  // 2. every version a person wrote and did not knowingly replace is a live file
  const live = new Set([...server.values()].map((e) => e.hash).filter(Boolean));
  for (const [h, who] of w.needed) if (!live.has(h)) fail(`lost: ${show(h)} (written by ${who}) is not a live file anywhere`);

  // 3. every version on disk when a completed cycle started is live, a revision, or in the trash
  const kept = new Set([...live, ...(await revisionHashesSince(w.api, w.cursor0))]);
  for (const [h, when] of w.cycleStart) if (!kept.has(h)) fail(`gone: ${show(h)} (${when}) is neither live nor a revision nor in the trash`);

  // 4. no temp files left
  for (const d of w.devices) {
    const staging = await readdir(join(d.folder, '.tessera', 'downloads')).catch(() => []);
    if (staging.length) fail(`dev${d.index} left ${staging.length} file(s) in .tessera/downloads`);
    const partials = await findPartials(d.folder);
    if (partials.length) fail(`dev${d.index} left partial downloads: ${partials.join(', ')}`);
  }

  // 5. a reopened engine finds nothing to do
  if (w.failures.length) return;
  for (const d of w.devices) {
    await w.reopen(d);
    const r = await w.cycle(d.index);
    if (r.outcomes.length) fail(`dev${d.index} reopened still had work: ${r.outcomes.map(describeOutcome).join('; ')}`);
  }
}

/** Every file id the account's change journal mentions since the run began (live, moved or trashed). */
/**
 * The content hash of every revision of every file `client` saw change since `cursor`: live,
 * replaced or in the trash. A file whose revisions the client may not read adds nothing.
 */
export async function revisionHashesSince(client: TesseraClient, cursor: string): Promise<Set<string>> {
  const ids = new Set<string>();
  for (;;) {
    const page = await client.changes(cursor, 500);
    for (const c of page.changes as ChangeInfo[]) if (!c.isFolder) ids.add(c.fileId);
    cursor = page.cursor;
    if (!page.hasMore) break;
  }
  const hashes = new Set<string>();
  for (const id of ids) {
    const r = await client.api.request<{ file: { revisions: { contentHash: string }[] } | null }>(REVISIONS, { id }).catch(() => null);
    for (const rev of r?.file?.revisions ?? []) hashes.add(rev.contentHash);
  }
  return hashes;
}

async function findPartials(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.name.includes('.tessera-partial')) out.push(join(d, e.name).slice(dir.length));
      else if (e.isDirectory()) await walk(join(d, e.name));
    }
  };
  await walk(dir);
  return out;
}

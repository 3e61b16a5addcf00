import type { Op } from './ops';

/**
 * Named regression cases: fixed op lists in the simulation's format, run like any seed (the
 * same invariants), so each replays exactly. Races name the SDK call they precede (the first
 * call of that method in the cycle) rather than a call number, so they stay on target when the
 * engine makes a call more or less elsewhere.
 */
export interface Scenario {
  name: string;
  /** What it reproduces (and what must hold). */
  about: string;
  ops: Op[];
  /** The invariant check also fails on action errors other than CONFLICT / CHANGED / NOT_FOUND in any cycle. */
  strictErrors?: boolean;
  /** The seed of the order in which each plan's transfers run (default 0; see seededTransferOrder in hook.ts). */
  order?: number;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'folder-delete-vs-edit',
    about: 'issue 13 #1: dev0 deletes /y while dev1 overwrites /y/X just before dev0\'s deleteFile: the edit must stay a live file',
    ops: [
      { t: 'write', who: 0, path: '/y/X', v: 'd0v1', size: 10 },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 1 },
      { t: 'rm', who: 0, path: '/y' },
      { t: 'race', dev: 0, at: 'deleteFile', ops: [{ t: 'write', who: 1, path: '/y/X', v: 'd1v2', size: 14 }, { t: 'sync', dev: 1 }] },
    ],
  },
  {
    name: 'rename-vs-edit-sizes-differ',
    about: 'issue 13 #2: dev0 renames /a -> /b while dev1 uploads a longer /a just before dev0\'s moveFile: dev0 must not re-upload its old bytes over the edit',
    ops: [
      { t: 'write', who: 0, path: '/a', v: 'd0v1', size: 10 },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 1 },
      { t: 'move', who: 0, from: '/a', to: '/b' },
      { t: 'race', dev: 0, at: 'moveFile', ops: [{ t: 'write', who: 1, path: '/a', v: 'd1v2', size: 16 }, { t: 'sync', dev: 1 }] },
    ],
  },
  {
    name: 'rename-vs-edit-same-size',
    about: 'issue 13 #2: as above with equal sizes: the devices must not silently diverge',
    ops: [
      { t: 'write', who: 0, path: '/a', v: 'd0v1', size: 10 },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 1 },
      { t: 'move', who: 0, from: '/a', to: '/b' },
      { t: 'race', dev: 0, at: 'moveFile', ops: [{ t: 'write', who: 1, path: '/a', v: 'd1v2', size: 10 }, { t: 'sync', dev: 1 }] },
    ],
  },
  {
    name: 'folder-replaced-by-file',
    about: 'issue 13 #3: a remote folder replaced by a file of the same name (server side only): the device must converge (it failed with EISDIR for ever)',
    ops: [
      { t: 'mkdir', who: 's', path: '/x' },
      { t: 'sync', dev: 0 },
      { t: 'swap', who: 's', path: '/x', v: 'sv1', size: 12 },
    ],
  },
  {
    name: 'folder-replaced-by-file-with-new-local-file',
    about: 'issue 13 #3: as above while the device has a new file inside the folder: no ever-longer conflicted-copy names, both versions kept',
    ops: [
      { t: 'mkdir', who: 0, path: '/x' },
      { t: 'sync', dev: 0 },
      { t: 'write', who: 0, path: '/x/n', v: 'd0v1', size: 10 },
      { t: 'swap', who: 's', path: '/x', v: 'sv2', size: 12 },
    ],
  },
  {
    name: 'flatten-folder-into-its-file',
    about: 'issue 13 #4: mv /d /e; mv /e/f /d on one device: must converge (every cycle failed with moveRemote CONFLICT)',
    ops: [
      { t: 'write', who: 0, path: '/d/f', v: 'd0v1', size: 10 },
      { t: 'sync', dev: 0 },
      { t: 'move', who: 0, from: '/d', to: '/e' },
      { t: 'move', who: 0, from: '/e/f', to: '/d' },
    ],
  },
  {
    name: 'file-deleted-before-upload',
    about: 'issue 13 #6: a file deleted just before its upload must fail fast as CHANGED, not as NETWORK after retries',
    strictErrors: true,
    ops: [
      { t: 'write', who: 0, path: '/f', v: 'd0v1', size: 10 },
      { t: 'race', dev: 0, at: 'upload', ops: [{ t: 'rm', who: 0, path: '/f' }] },
    ],
  },
  {
    name: 'conflict-moves-folder-aside-with-children',
    about: 'issue 13 #6: a conflict that moves a local folder aside must not then fail its children\'s uploads with ENOTDIR',
    strictErrors: true,
    ops: [
      { t: 'mkdir', who: 0, path: '/x' },
      { t: 'sync', dev: 0 },
      { t: 'write', who: 0, path: '/x/n', v: 'd0v1', size: 10 },
      { t: 'swap', who: 's', path: '/x', v: 'sv2', size: 12 },
      { t: 'sync', dev: 0 },
    ],
  },
  {
    name: 'folder-displaced-by-moved-folder',
    about: 'found by the simulation: /c (holding /c/c) moves to /A/a, then /A moves to /c, both before the device\'s next feed read; the feed puts /A at /c over the old /c and the file stayed at /c/c in the device\'s remote tree: devices diverged for good (fixed in remote-tree.ts: such a page makes the next refresh list the tree again)',
    ops: [
      { t: 'write', who: 1, path: '/c/c', v: 'd1v1', size: 11 },
      { t: 'sync', dev: 1 },
      { t: 'sync', dev: 0 },
      { t: 'move', who: 's', from: '/c', to: '/A/a' },
      { t: 'move', who: 's', from: '/A', to: '/c' },
      { t: 'sync', dev: 1 },
    ],
  },
  {
    name: 'feed-page-deletes-an-older-folder-over-a-newer-file',
    about: 'found by the simulation (seed 10173, also with the issue 13 fixes): /A deleted and made again, /a moved into the new /A, a file in /a edited, all unseen by dev2; applying the page, the old /A\'s deletion removed the edited file already put at its current path /A/c/A, and dev2 never had it (fixed in remote-tree.ts)',
    ops: [
      { t: 'write', who: 's', path: '/a/A', v: 'sv7', size: 18 },
      { t: 'race', dev: 0, at: 'createFolder', ops: [{ t: 'mkdir', who: 1, path: '/A' }, { t: 'sync', dev: 1 }] },
      { t: 'write', who: 0, path: '/a/A', v: 'd0v8', size: 10 },
      { t: 'race', dev: 2, at: 'upload', ops: [{ t: 'sync', dev: 0 }] },
      { t: 'rm', who: 's', path: '/A' },
      { t: 'move', who: 1, from: '/a', to: '/A/c' },
    ],
  },
  {
    name: 'download-crash-then-remote-delete',
    about: 'issue 13 #6: a download abandoned part way (as by kill -9), then the file deleted remotely: no partial file or staging may stay behind',
    ops: [
      { t: 'write', who: 's', path: '/f', v: 'sv1', size: 20 },
      { t: 'crash', dev: 0, at: 'download', mid: true },
      { t: 'rm', who: 's', path: '/f' },
      { t: 'sync', dev: 0 },
    ],
  },
  {
    name: 'relist-races-folder-move',
    about: 'found by the simulation: a first cycle\'s full listing that races a folder move rejected with NOT_FOUND (fixed in remote-tree.ts: the listing is taken again)',
    ops: [
      { t: 'mkdir', who: 0, path: '/c' },
      { t: 'sync', dev: 0 },
      { t: 'race', dev: 1, at: 3, ops: [{ t: 'move', who: 0, from: '/c', to: '/b' }, { t: 'sync', dev: 0 }] },
    ],
  },
  {
    name: 'relist-misses-moved-subtree',
    about: 'found by the simulation: a folder moved into an already-listed folder during a full listing was missing for good on that device, with its files (fixed in remote-tree.ts)',
    ops: [
      { t: 'mkdir', who: 's', path: '/a' },
      { t: 'write', who: 's', path: '/b/x/f', v: 'sv1', size: 10 },
      { t: 'race', dev: 0, at: 4, ops: [{ t: 'move', who: 's', from: '/b/x', to: '/a/x' }] },
    ],
  },
  {
    name: 'mkdir-meets-moved-folder',
    about: 'found by the simulation: the server moves /a (holding /a/a) to /b just before the device\'s createFolder /b, which answers with that moved folder; the device recorded /b without moving /a/a along and stayed diverged for good (fixed in remote-tree.ts record())',
    ops: [
      { t: 'mkdir', who: 's', path: '/a/a' },
      { t: 'write', who: 1, path: '/b/a', v: 'd1v1', size: 17 },
      { t: 'race', dev: 1, at: 'createFolder', ops: [{ t: 'move', who: 's', from: '/a', to: '/b' }] },
    ],
  },
  {
    name: 'download-by-path-gets-the-file-that-took-its-place',
    about: 'found by the simulation (seed 20382 of --devices 3 --ops 24): just before dev0 moves /c to /b/a, the server moves /b (holding /b/b, which dev0 is about to download) into /c and writes a new /b/b; the download by path got the new file and recorded it over the old one, which vanished from dev0\'s remote tree: no change would ever name it (it did not change), so dev0 never got /b/a/b/b (fixed in remote-tree.ts record(): the next refresh lists the tree again)',
    ops: [
      { t: 'write', who: 2, path: '/b/b', v: 'd2v3', size: 19 },
      { t: 'race', dev: 1, at: 8, ops: [{ t: 'write', who: 's', path: '/c/a', v: 'sv5', size: 10 }] },
      { t: 'append', who: 's', path: '/c/a', v: 'sv6' },
      { t: 'race', dev: 0, at: 4, ops: [{ t: 'move', who: 1, from: '/c/A', to: '/c/a' }, { t: 'write', who: 1, path: '/c/A', v: 'd1v7', size: 10 }, { t: 'sync', dev: 1 }] },
      { t: 'rm', who: 's', path: '/b' },
      { t: 'sync', dev: 2 },
      { t: 'write', who: 's', path: '/A/a', v: 'sv8', size: 8 },
      { t: 'move', who: 0, from: '/c', to: '/b/a' },
      { t: 'move', who: 's', from: '/A', to: '/a' },
      { t: 'rm', who: 1, path: '/b' },
      { t: 'swap', who: 1, path: '/c/a', v: 'd1v9', size: 19 },
      { t: 'race', dev: 0, at: 'moveFile', ops: [{ t: 'move', who: 's', from: '/b', to: '/c/b' }, { t: 'write', who: 's', path: '/b/b', v: 'sv10', size: 20 }] },
      { t: 'sync', dev: 2 },
    ],
  },
  {
    name: 'folder-moved-into-a-folder-replaced-by-a-file',
    about: 'found by the simulation (seed 241 of --devices 3 --ops 24, 11 ops once minimized; this is its mechanism without the dated conflicted-copy names): dev0 replaces the folder /a by a file while dev2 moves its folder /F into /a; dev2 failed every cycle (moveRemote CONFLICT, deleteLocal ENOTEMPTY, download CHANGED) and never went quiet. A folder moved into a folder the other side replaced by a file now counts as new content there: the local /a is kept as a conflicted copy (fixed in planner.ts)',
    ops: [
      { t: 'write', who: 's', path: '/F/f', v: 'sv1', size: 10 },
      { t: 'mkdir', who: 's', path: '/a' },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 2 },
      { t: 'swap', who: 0, path: '/a', v: 'd0v2', size: 9 },
      { t: 'sync', dev: 0 },
      { t: 'move', who: 2, from: '/F', to: '/a/b' },
      { t: 'sync', dev: 2 },
    ],
  },
  {
    name: 'delete-of-a-folder-whose-move-failed',
    about: 'found by the simulation (seeds 1722 and 1702 of --devices 3 --ops 24, lost versions): dev2 moves /c to /A/A while dev0 (never synced) writes /c/c/A and a file /A/A. dev2 plans the move of /c/c to /A/A/c, a conflict for its folder /A/A, and the deletion of /c (its content counted as moved away); the move failed (CONFLICT: /A/A is a file on the server) and the deletion of /c then took dev0\'s /c/c/A with it. A deletion of a failed folder move\'s source, or of a folder holding it, now waits for the next cycle (fixed in executor.ts)',
    ops: [
      { t: 'write', who: 2, path: '/c/c/a', v: 'd2v1', size: 8 },
      { t: 'sync', dev: 2 },
      { t: 'write', who: 0, path: '/c/c/A', v: 'd0v2', size: 18 },
      { t: 'write', who: 0, path: '/A/A', v: 'd0v3', size: 18 },
      { t: 'move', who: 2, from: '/c', to: '/A/A' },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 2 },
    ],
  },
  {
    name: 'folder-move-meets-a-file-at-its-target',
    about: 'found by the simulation (seed 2841 of --devices 3 --ops 24, 7 ops once minimized at 8baaadc; the mechanism of delete-of-a-folder-whose-move-failed through a race): dev2 moves /b (holding /b/A/c/a) to /A; dev0 had edited /c/a (moved on the server to /b/A/c/a) and, just before dev2\'s moveFile, syncs it with a new file /A. dev2\'s moves of /b and /b/A fail (CONFLICT), and the plan\'s deletion of /b then took dev0\'s edit with it. The deletion now waits (fixed in executor.ts)',
    order: 2841,
    ops: [
      { t: 'write', who: 's', path: '/c/a', v: 'sv3', size: 17 },
      { t: 'sync', dev: 0 },
      { t: 'move', who: 's', from: '/c', to: '/b/A/c' },
      { t: 'sync', dev: 2 },
      { t: 'write', who: 0, path: '/c/a', v: 'd0v5', size: 17 },
      { t: 'move', who: 2, from: '/b', to: '/A' },
      { t: 'race', dev: 2, at: 'moveFile', ops: [{ t: 'write', who: 0, path: '/A', v: 'd0v6', size: 20 }, { t: 'sync', dev: 0 }] },
    ],
  },
  {
    name: 'file-renamed-over-a-file-of-the-same-size-and-mtime',
    about: 'found by the simulation (seed 1378 of --devices 3 --ops 24, with parallel transfers: two downloads finished within one tick of the file-system clock): dev0 holds /a and /b, same size, same mtime; its person renames /a over /b. The scan took /b for unchanged (size and mtime as synced), so dev0 deleted /a on the server and never uploaded /b: /a\'s version was lost and dev0 differed from the server for good. The synced entry now keeps the inode, and a file whose inode differs is hashed again (fixed in entries.ts, local-tree.ts, state-db.ts)',
    ops: [
      { t: 'write', who: 0, path: '/a', v: 'd0v1', size: 12 },
      { t: 'write', who: 0, path: '/b', v: 'd0v2', size: 12 },
      { t: 'stamp', who: 0, path: '/a', like: '/b' },
      { t: 'sync', dev: 0 },
      { t: 'rm', who: 0, path: '/b' },
      { t: 'move', who: 0, from: '/a', to: '/b' },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 1 },
    ],
  },
  {
    name: 'feed-page-moves-files-inside-a-folder-it-already-placed',
    about: 'found by the simulation (seed 411 of the second long run, --devices 3 --ops 24, 8 ops once minimized): the server moves /A/b (holding /A/b/a) to /A/a, the file /c to /a, and /A to /c, all unseen by dev1. Its feed page put the folder where it is now, /c/a (under the file /c, which the page had not moved yet), then the older change moving the file /c to /a took /c/a/a along to /a/a/a (the folder itself stayed, being placed by the page): dev1\'s remote tree held a file under a file, and every cycle failed (moveLocal ENOTDIR, download NOT_FOUND) for good. Entries inside an entry the page already placed now stay with it (fixed in remote-tree.ts)',
    ops: [
      { t: 'write', who: 's', path: '/c', v: 'sv1', size: 16 },
      { t: 'write', who: 's', path: '/A/b/a', v: 'sv2', size: 8 },
      { t: 'sync', dev: 1 },
      { t: 'move', who: 's', from: '/A/b', to: '/A/a' },
      { t: 'move', who: 's', from: '/c', to: '/a' },
      { t: 'move', who: 's', from: '/A', to: '/c' },
      { t: 'sync', dev: 1 },
    ],
  },
  {
    name: 'kill-9-of-tessera-sync-once',
    about: 'issue 13: crashes include a CLI process kill -9\'d: a real `tessera sync --once` on dev0\'s folder killed just before its first upload (after creating /b), then just before its first download, then one that runs to the end; every invariant must hold after',
    ops: [
      { t: 'write', who: 0, path: '/a', v: 'd0v1', size: 12 },
      { t: 'write', who: 0, path: '/b/c', v: 'd0v2', size: 12 },
      { t: 'kill', dev: 0, at: 'upload' },
      { t: 'write', who: 1, path: '/x', v: 'd1v3', size: 9 },
      { t: 'sync', dev: 1 },
      { t: 'kill', dev: 0, at: 'download' },
      { t: 'kill', dev: 0, at: 99 },
    ],
  },
  {
    name: 'member-device-crash-kill-race-offline',
    about: 'the member\'s device (sharing.ts) gets the owner\'s devices\' ops: a race in which, just before the member\'s first download, the server and dev1 write inside the shared folder; the member\'s edits in the mount, a cycle abandoned before its first upload, a real `tessera sync --once` with the member\'s token killed before its first upload, an offline period; every invariant (the sharing ones too) must hold after',
    ops: [
      { t: 'share', role: 'EDITOR' },
      { t: 'write', who: 0, path: '/sh/a', v: 'd0v1', size: 10 },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 7 },
      { t: 'race', dev: 7, at: 'download', ops: [{ t: 'write', who: 's', path: '/sh/a', v: 'sv2', size: 12 }, { t: 'write', who: 1, path: '/sh/b', v: 'd1v3', size: 12 }, { t: 'sync', dev: 1 }] },
      { t: 'write', who: 7, path: '/b', v: 'mv4', size: 11 },
      { t: 'crash', dev: 7, at: 'upload' },
      { t: 'write', who: 7, path: '/c', v: 'mv5', size: 11 },
      { t: 'kill', dev: 7, at: 'upload' },
      { t: 'offline', dev: 7 },
      { t: 'write', who: 7, path: '/d', v: 'mv6', size: 11 },
      { t: 'stamp', who: 7, path: '/d', like: '/c' },
      { t: 'sync', dev: 7 },
      { t: 'online', dev: 7 },
      { t: 'sync', dev: 7 },
    ],
  },
  {
    name: 'member-moves-a-folder-out-of-the-mount-the-owner-just-added-to',
    about: 'found by probing the member\'s device: the editor moves /sh/d (holding f) out of the mount into their own /own/d; before their next cycle the owner adds /sh/d/g. The cross-owner move is a copy of the local folder + a deletion of the old one "if unchanged since" the cursor of the refreshed remote tree, which already held g: g was trashed, live nowhere',
    ops: [
      { t: 'share', role: 'EDITOR' },
      { t: 'write', who: 0, path: '/sh/d/f', v: 'd0v1', size: 12 },
      { t: 'sync', dev: 0 },
      { t: 'sync', dev: 7 },
      { t: 'move', who: 7, from: '/d', to: '~/own/d' },
      { t: 'write', who: 's', path: '/sh/d/g', v: 'sv2', size: 12 },
      { t: 'sync', dev: 7 },
    ],
  },
];

/**
 * Scenarios that fail on this branch, with why. The simulation test prints them and does not
 * fail on them; once a fix lands the scenario passes and the test then fails until its name is
 * removed here (so the list never hides a regression).
 */
export const KNOWN_FAILING: Record<string, string> = {
};

/**
 * Failure signatures of the known, unfixed defects. A random seed whose every failure matches
 * one of these is reported (seed, reason, first failure) as known-failing instead of failing the
 * run, so the default run keeps every op class while the fixes are pending. Empty this list
 * once the fixes are merged: every seed must then pass outright.
 */
export const KNOWN_FAILURE_SIGNATURES: { pattern: RegExp; when?: RegExp; reason: string }[] = [];

/**
 * The known defect all of a run's failures come from, or null (no failures, or one nothing
 * known explains). `when` must match one of the run's action errors or failures.
 */
export function knownDefect(failures: string[], actionErrors: string[]): string | null {
  if (!failures.length) return null;
  const reasons = failures.map((f) => KNOWN_FAILURE_SIGNATURES.find((s) => s.pattern.test(f) && (!s.when || [...actionErrors, ...failures].some((e) => s.when!.test(e))))?.reason ?? null);
  return reasons.every((r) => r !== null) ? [...new Set(reasons)].join('; ') : null;
}

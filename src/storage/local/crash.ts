/**
 * Crash-point injection for the local store's on-disk state machine (see ./adapter).
 *
 * Every step after which the files on disk are in a new state has a name below. With
 * `TESSERA_CRASH_AT=<name>[:n]` in the environment, the process kills itself with SIGKILL
 * the n-th time (default 1st) it passes that step: what a power cut or kill -9 at that
 * instant would leave. Tests enumerate CRASH_POINTS, so a new step must be added here and is
 * then covered. Without the variable, crashPoint is a no-op.
 */
export const CRASH_POINTS = [
  // createMultipartUpload
  'create.staged', // upload.json (and the data file) written under .tmp, not yet published
  'create.published', // renamed into .uploads: the upload exists, its id not yet answered
  // part PUT / part copy (storePart)
  'part.slot-claimed', // in-place slot marker created, no bytes yet
  'part.written', // bytes written in place and fsynced, not yet linked
  'part.own-written', // bytes in a temp file of their own, fsynced, not yet named
  'part.own-renamed', // named p<n>.<size>.<sha>, not yet linked
  'part.linked', // link <n> points at the part: the part is stored
  // completeMultipartUpload
  'complete.claimed', // upload renamed out of .uploads (claimed), nothing else changed
  'complete.assembling', // copy path: first part copied into the new object file
  'complete.assembled', // copy path: object file complete and fsynced, no commit record yet
  'complete.sealed', // in-place path, encrypted: the data file's header seals the object's size, no commit record yet
  'complete.committed', // commit.json durable: from here the completion only rolls forward
  'complete.truncated', // in-place path: data file cut to the object's size and fsynced
  'complete.placed', // object renamed into place, directory fsynced
  'complete.trashed', // claimed directory renamed to trash-*, nothing removed yet
  'complete.removing', // some of the trash removed
  // abortMultipartUpload
  'abort.trashed',
  'abort.removing',
] as const;

export type CrashPoint = (typeof CRASH_POINTS)[number];

const spec = parse(process.env.TESSERA_CRASH_AT);
let hits = 0;

function parse(value: string | undefined): { name: string; n: number } | null {
  if (!value) return null;
  const [name, n] = value.split(':');
  return { name, n: n ? Number(n) : 1 };
}

/** Dies here (SIGKILL, no cleanup) when TESSERA_CRASH_AT names this step; else nothing. */
export function crashPoint(name: CrashPoint): void {
  if (spec?.name !== name || ++hits !== spec.n) return;
  process.kill(process.pid, 'SIGKILL');
}

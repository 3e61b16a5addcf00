/**
 * The folder forms of `upload` and `download` (cp -r semantics): the tree goes to
 * `<dest>/<name>` when the destination is an existing folder or ends with a slash, else to
 * `<dest>` itself; a source ending with a slash (or `.`) sends its contents instead, as
 * BSD cp -R and rsync do. Progress on a TTY, one line per skipped entry and per failure, one
 * summary line; any failure makes the command fail (exit 1) after the others went through.
 */
import { basename, join, posix, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { TesseraClient } from '../sdk/client';
import type { TreeProgress, TreeResult, TreeSkipped } from '../sdk/tree';
import type { CliContext } from './context';
import { remotePath } from './files';
import { interruptible } from './interrupt';
import { ProgressBar } from './progress';

export interface TreeCommandOptions {
  concurrency: number;
  files: number;
  fsync?: boolean;
}

/** `upload <local folder> [remote]`. */
export async function uploadFolder(ctx: CliContext, client: TesseraClient, local: string, remote: string | undefined, o: TreeCommandOptions): Promise<void> {
  const localDir = resolve(ctx.io.cwd, local);
  let target = remotePath(remote ?? '/');
  if (!sendsContents(local) && (target.endsWith('/') || (await client.fileByPath(target))?.isFolder)) target = posix.join(target, basename(localDir));
  await runTree(ctx, 'upload', `${local} -> ${target}`, (stop, onProgress) =>
    client.uploadTree(localDir, target, { files: o.files, concurrency: o.concurrency, signal: stop, onProgress }));
}

/** `download <remote folder> [local]`. */
export async function downloadFolder(ctx: CliContext, client: TesseraClient, remote: string, local: string | undefined, o: TreeCommandOptions): Promise<void> {
  const source = remotePath(remote);
  const name = sendsContents(source) ? '' : posix.basename(source);
  let localDir = resolve(ctx.io.cwd, local ?? '.');
  if (name && (local === undefined || /[\\/]$/.test(local) || (await isDirectory(localDir)))) localDir = join(localDir, name);
  await runTree(ctx, 'download', `${source} -> ${localDir}`, (stop, onProgress) =>
    client.downloadTree(source, localDir, { files: o.files, concurrency: o.concurrency, fsync: o.fsync === true, signal: stop, onProgress }));
}

/** True when a folder is remote or local `path` names its contents rather than itself. */
function sendsContents(path: string): boolean {
  return /[\\/]$/.test(path) || ['.', '..'].includes(path.split(/[\\/]/).pop()!);
}

async function runTree<R>(
  ctx: CliContext,
  verb: 'upload' | 'download',
  what: string,
  run: (signal: AbortSignal, onProgress: (p: TreeProgress) => void) => Promise<TreeResult<R>>,
): Promise<void> {
  const bar = new ProgressBar(ctx.io.stderr);
  const stop = interruptible();
  let r: TreeResult<R>;
  try {
    r = await run(stop.signal, (p) => bar.update({ phase: verb, label: `${verb} ${p.filesDone}/${p.filesTotal} files`, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal }));
  } catch (e) {
    bar.abandon();
    throw e;
  } finally {
    stop.dispose();
  }
  bar.clear();
  for (const s of r.skipped) ctx.io.stderr.write(`skipped ${s.path}: ${REASONS[s.reason]}\n`);
  for (const f of r.failed) ctx.io.stderr.write(`failed ${f.path || '.'}${f.kind === 'folder' ? '/' : ''}: ${f.code}: ${f.message}\n`);
  const moved = r.files.filter((f) => f.outcome !== 'unchanged').length;
  const counts = [
    `${moved} file${moved === 1 ? '' : 's'} ${verb}ed`,
    `${r.files.length - moved} unchanged`,
    `${r.skipped.length} skipped`,
    `${r.failed.length} failed`,
    ...(r.foldersCreated > 0 ? [`${r.foldersCreated} folder${r.foldersCreated === 1 ? '' : 's'} created`] : []),
  ];
  bar.finish(`${verb}ed ${what}: ${counts.join(', ')}`, r.bytes);
  if (r.failed.length > 0) {
    throw Object.assign(new Error(`${r.failed.length} of ${r.files.length + r.failed.length} item(s) failed; the others went through`), { code: 'INCOMPLETE' });
  }
}

const REASONS: Record<TreeSkipped['reason'], string> = {
  symlink: 'symbolic link (not followed)',
  special: 'not a regular file or folder',
  'partial-download': 'unfinished download',
  'sync-state': 'tessera sync state (not content)',
};

/** True when `p` is a folder (or a link to one). */
export async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}

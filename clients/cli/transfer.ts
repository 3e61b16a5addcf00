import { InvalidArgumentError, type Command } from 'commander';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { stat } from 'node:fs/promises';
import type { CliContext } from './context';
import { interruptible } from './interrupt';
import { remoteArg } from './resolve';
import { ProgressBar } from './progress';
import { downloadFolder, isDirectory, uploadFolder } from './tree';
import { TesseraError } from '../sdk/errors';
import { DEFAULT_TREE_FILES } from '../sdk/tree';
import { DEFAULT_DOWNLOAD_CONCURRENCY } from '../sdk/download';
import { DEFAULT_UPLOAD_CONCURRENCY } from '../sdk/upload';

/** `upload` and `download` of a file or a folder tree (see ./tree), with a progress bar on a TTY. */
export function registerTransferCommands(program: Command, ctx: CliContext): void {
  program
    .command('upload')
    .description('upload a file, or a folder recursively (resumes an interrupted upload of the same content)')
    .argument('<local>', 'file or folder')
    .argument('[remote]', 'remote path or folder (default: /<name>)')
    .option('-c, --concurrency <n>', 'parts in flight (per file)', toInt, DEFAULT_UPLOAD_CONCURRENCY)
    .option('-j, --files <n>', 'files at once (folders)', toInt, DEFAULT_TREE_FILES)
    .option('--fixed-parts', 'cut a file in the server\'s fixed part size, as clients before content-defined parts did (default: parts cut where the content says, so an insertion moves only the parts it touches)')
    .action(async (local: string, remote: string | undefined, o: { concurrency: number; files: number; fixedParts?: boolean }) => {
      const client = await ctx.client();
      const localPath = resolve(ctx.io.cwd, local);
      if (await isDirectory(localPath)) return uploadFolder(ctx, client, local, remote === undefined ? undefined : await remoteArg(client, remote), o);
      let target = remote === undefined ? '/' : await remoteArg(client, remote);
      if (target.endsWith('/') || (await client.fileByPath(target))?.isFolder) target = posix.join(target, basename(localPath));
      const bar = new ProgressBar(ctx.io.stderr);
      const stop = interruptible();
      try {
        const r = await client.upload(localPath, target, { concurrency: o.concurrency, fixedParts: o.fixedParts === true, onProgress: bar.update, signal: stop.signal });
        if (r.deduplicated) {
          // nothing was sent: the server already stores this content (no rate to report)
          bar.clear();
          ctx.io.stderr.write(`uploaded ${local} -> ${r.file.path}: already stored, no bytes sent\n`);
          return;
        }
        const how = [r.partsSkipped > 0 ? `, resumed: ${r.partsSkipped} part(s) already there` : '', r.partsCopied > 0 ? `, ${r.partsCopied} unchanged part(s) copied in the store` : ''].join('');
        bar.finish(`uploaded ${local} -> ${r.file.path}${how}`, r.bytesSent);
      } catch (e) {
        bar.abandon();
        throw e;
      } finally {
        stop.dispose();
      }
    });

  program
    .command('download')
    .description('download a file, or a folder recursively (resumes an interrupted download)')
    .argument('<remote>', 'file or folder')
    .argument('[local]', 'local path or folder (default: ./<name>)')
    .option('-c, --concurrency <n>', 'parts in flight (per file)', toInt, DEFAULT_DOWNLOAD_CONCURRENCY)
    .option('-j, --files <n>', 'files at once (folders)', toInt, DEFAULT_TREE_FILES)
    .option('--fsync', 'flush the file to disk before it takes its name, so a power cut right after cannot leave it incomplete (slower where the disk is slower than the network)')
    .option('--no-fsync', 'leave flushing to the operating system (the default, as aws-cli and rclone do)')
    .action(async (remote: string, local: string | undefined, o: { concurrency: number; files: number; fsync?: boolean }) => {
      const client = await ctx.client();
      const source = await remoteArg(client, remote);
      if (source === '/' || (await client.fileByPath(source.replace(/(.)\/+$/, '$1')))?.isFolder) return downloadFolder(ctx, client, source, local, o);
      let localPath = resolve(ctx.io.cwd, local ?? posix.basename(source));
      if ((local ?? '').endsWith('/') || (await isDirectory(localPath))) localPath = join(localPath, posix.basename(source));
      if (!(await isDirectory(dirname(localPath)))) throw new TesseraError('NOT_FOUND', `no such local folder: ${dirname(localPath)}`);
      const bar = new ProgressBar(ctx.io.stderr);
      const stop = interruptible();
      try {
        // a file already there is an older copy: its parts that still match (wherever they sit) are not fetched again
        const reuseFrom = (await stat(localPath).catch(() => null))?.isFile() ? localPath : undefined;
        const r = await client.download(source, localPath, { concurrency: o.concurrency, fsync: o.fsync === true, reuseFrom, onProgress: bar.update, signal: stop.signal });
        const how = r.partsReused > 0 ? `, resumed: ${r.partsReused} part(s) already there` : '';
        bar.finish(`downloaded ${r.file.path} -> ${localPath}${how}`, r.bytesReceived);
      } catch (e) {
        bar.abandon();
        throw e;
      } finally {
        stop.dispose();
      }
    });
}

function toInt(v: string): number {
  const n = Number.parseInt(v, 10);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('not a positive integer');
  return n;
}

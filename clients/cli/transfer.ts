import { InvalidArgumentError, type Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { CliContext } from './context';
import { interruptible } from './interrupt';
import { remotePath } from './files';
import { ProgressBar } from './progress';
import { DEFAULT_DOWNLOAD_CONCURRENCY } from '../sdk/download';
import { DEFAULT_UPLOAD_CONCURRENCY } from '../sdk/upload';

/** `upload` and `download`, with a progress bar on a TTY. */
export function registerTransferCommands(program: Command, ctx: CliContext): void {
  program
    .command('upload')
    .description('upload a file (resumes an interrupted upload of the same content)')
    .argument('<local>')
    .argument('[remote]', 'remote path or folder (default: /<name>)')
    .option('-c, --concurrency <n>', 'parts in flight', toInt, DEFAULT_UPLOAD_CONCURRENCY)
    .action(async (local: string, remote: string | undefined, o: { concurrency: number }) => {
      const client = await ctx.client();
      const localPath = resolve(ctx.io.cwd, local);
      let target = remotePath(remote ?? '/');
      if (target.endsWith('/') || (await client.fileByPath(target))?.isFolder) target = posix.join(target, basename(localPath));
      const bar = new ProgressBar(ctx.io.stderr);
      const stop = interruptible();
      try {
        const r = await client.upload(localPath, target, { concurrency: o.concurrency, onProgress: bar.update, signal: stop.signal });
        const how = r.deduplicated ? ', already stored'
          : [r.partsSkipped > 0 ? `, resumed: ${r.partsSkipped} part(s) already there` : '', r.partsCopied > 0 ? `, ${r.partsCopied} unchanged part(s) copied in the store` : ''].join('');
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
    .description('download a file (resumes an interrupted download)')
    .argument('<remote>')
    .argument('[local]', 'local path or folder (default: ./<name>)')
    .option('-c, --concurrency <n>', 'parts in flight', toInt, DEFAULT_DOWNLOAD_CONCURRENCY)
    .option('--no-fsync', 'do not flush the file to disk before renaming it into place (faster on slow disks; a power cut soon after may leave it incomplete)')
    .action(async (remote: string, local: string | undefined, o: { concurrency: number; fsync: boolean }) => {
      const client = await ctx.client();
      const source = remotePath(remote);
      let localPath = resolve(ctx.io.cwd, local ?? posix.basename(source));
      if ((local ?? '').endsWith('/') || (await isDirectory(localPath))) localPath = join(localPath, posix.basename(source));
      const bar = new ProgressBar(ctx.io.stderr);
      const stop = interruptible();
      try {
        const r = await client.download(source, localPath, { concurrency: o.concurrency, fsync: o.fsync, onProgress: bar.update, signal: stop.signal });
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

async function isDirectory(p: string): Promise<boolean> {
  return (await stat(p).catch(() => null))?.isDirectory() ?? false;
}

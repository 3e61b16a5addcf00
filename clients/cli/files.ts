import type { Command } from 'commander';
import type { FileInfo } from '../sdk/types';
import type { CliContext } from './context';
import { namingPath, printJson } from './help';
import { formatBytes } from './progress';
import { remoteArg } from './resolve';

/** `ls`, `mkdir`, `mv`, `rm`. */
export function registerFileCommands(program: Command, ctx: CliContext): void {
  program
    .command('ls')
    .description('list a folder')
    .argument('[path]', 'remote folder', '/')
    .option('--bytes', 'exact sizes in bytes')
    .option('--json', 'print JSON (a list of { id, name, path, isFolder, size, mimeType, contentHash, revision, createdAt, updatedAt }) for scripts')
    .action(async (path: string, o: { bytes?: boolean; json?: boolean }) => {
      const client = await ctx.client();
      const folder = await remoteArg(client, path);
      const entries = await namingPath(folder, () => client.listFolder(folder));
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), entries);
      for (const f of entries) ctx.io.stdout.write(formatEntry(f, Boolean(o.bytes)) + '\n');
    });

  program
    .command('mkdir')
    .description('create a folder (and missing parents)')
    .argument('<path>', 'remote folder to create')
    .action(async (path: string) => {
      const client = await ctx.client();
      const existed = (await client.fileByPath(remotePath(path)))?.isFolder === true;
      const folder = await client.createFolder(remotePath(path));
      ctx.io.stdout.write(`${existed ? 'exists' : 'created'} ${folder.path}\n`);
    });

  program
    .command('mv')
    .description('move or rename a file or folder')
    .argument('<from>', 'remote file or folder')
    .argument('<to>', 'its new remote path')
    .action(async (from: string, to: string) => {
      const client = await ctx.client();
      const source = await remoteArg(client, from);
      const moved = await namingPath(source, () => client.moveFile(source, remotePath(to)));
      ctx.io.stdout.write(`moved ${source} -> ${moved.path}\n`);
    });

  program
    .command('rm')
    .description('delete a file or folder (to the trash)')
    .argument('<path>', 'remote file or folder')
    .action(async (path: string) => {
      const client = await ctx.client();
      const target = await remoteArg(client, path);
      const deleted = await namingPath(target, () => client.deleteFile(target));
      ctx.io.stdout.write(`deleted ${deleted.path}\n`);
    });
}

/** Makes a remote path absolute: "docs/a.txt" -> "/docs/a.txt". */
export function remotePath(p: string): string {
  return p.startsWith('/') ? p : `/${p}`;
}

/** `d  4.0 KiB  2026-01-02 03:04  name/` */
export function formatEntry(f: FileInfo, exact: boolean): string {
  const size = f.isFolder ? '-' : exact ? f.size : formatBytes(Number(f.size));
  const when = f.updatedAt.replace('T', ' ').slice(0, 16);
  return `${f.isFolder ? 'd' : '-'}  ${size.padStart(10)}  ${when}  ${f.name}${f.isFolder ? '/' : ''}`;
}

import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './context';
import { remotePath } from './files';
import { namingPath, printJson } from './help';
import { formatBytes } from './progress';

/** `trash`, `restore`, `revisions`, `restore-revision`. */
export function registerHistoryCommands(program: Command, ctx: CliContext): void {
  program
    .command('trash')
    .description('what you deleted, most recent first (restore with `tessera restore <id>`)')
    .option('--json', 'print JSON (a list of { id, name, path, isFolder, size, ... }) for scripts')
    .action(async (o: { json?: boolean }) => {
      const items = await (await ctx.client()).trash();
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), items);
      for (const f of items) {
        const size = f.isFolder ? '-' : formatBytes(Number(f.size));
        ctx.io.stdout.write(`${f.id}  ${size.padStart(10)}  ${f.path}${f.isFolder ? '/' : ''}\n`);
      }
    });

  program
    .command('restore')
    .description('bring a deleted file or folder back to where it was')
    .argument('<id>', 'as `tessera trash` lists it')
    .action(async (id: string) => {
      const client = await ctx.client();
      const file = await namingPath(id, () => client.restoreFile(id), 'file in the trash');
      ctx.io.stdout.write(`restored ${file.path}\n`);
    });

  program
    .command('revisions')
    .description("a file's revisions, newest first")
    .argument('<path>', 'remote file')
    .option('--json', 'print JSON (a list of { revision, size, contentHash, current, createdAt }) for scripts')
    .action(async (path: string, o: { json?: boolean }) => {
      const client = await ctx.client();
      const revisions = await namingPath(remotePath(path), () => client.revisions(remotePath(path)));
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), revisions);
      for (const r of revisions) {
        const when = r.createdAt.replace('T', ' ').slice(0, 16);
        ctx.io.stdout.write(`${r.current ? '*' : ' '} ${String(r.revision).padStart(4)}  ${formatBytes(Number(r.size)).padStart(10)}  ${when}\n`);
      }
    });

  program
    .command('restore-revision')
    .description("make an earlier revision's content current again (as a new revision; no bytes move)")
    .argument('<path>', 'remote file')
    .argument('<revision>', 'as `tessera revisions` lists it', toRevision)
    .action(async (path: string, revision: number) => {
      const client = await ctx.client();
      const file = await namingPath(remotePath(path), () => client.restoreRevision(remotePath(path), revision));
      ctx.io.stdout.write(`restored ${file.path} to the content of revision ${revision} (now revision ${file.revision})\n`);
    });
}

function toRevision(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a revision number (1, 2, ...)');
  return n;
}

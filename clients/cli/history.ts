import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './context';
import { remotePath } from './files';
import { formatBytes } from './progress';

/** `trash`, `restore`, `revisions`, `restore-revision`. */
export function registerHistoryCommands(program: Command, ctx: CliContext): void {
  program
    .command('trash')
    .description('what you deleted, most recent first (restore with `tessera restore <id>`)')
    .action(async () => {
      for (const f of await (await ctx.client()).trash()) {
        const size = f.isFolder ? '-' : formatBytes(Number(f.size));
        ctx.io.stdout.write(`${f.id}  ${size.padStart(10)}  ${f.path}${f.isFolder ? '/' : ''}\n`);
      }
    });

  program
    .command('restore')
    .description('bring a deleted file or folder back to where it was')
    .argument('<id>', 'as `tessera trash` lists it')
    .action(async (id: string) => {
      const file = await (await ctx.client()).restoreFile(id);
      ctx.io.stdout.write(`restored ${file.path}\n`);
    });

  program
    .command('revisions')
    .description("a file's revisions, newest first")
    .argument('<path>')
    .action(async (path: string) => {
      for (const r of await (await ctx.client()).revisions(remotePath(path))) {
        const when = r.createdAt.replace('T', ' ').slice(0, 16);
        ctx.io.stdout.write(`${r.current ? '*' : ' '} ${String(r.revision).padStart(4)}  ${formatBytes(Number(r.size)).padStart(10)}  ${when}\n`);
      }
    });

  program
    .command('restore-revision')
    .description("make an earlier revision's content current again (as a new revision; no bytes move)")
    .argument('<path>')
    .argument('<revision>', 'as `tessera revisions` lists it', toRevision)
    .action(async (path: string, revision: number) => {
      const file = await (await ctx.client()).restoreRevision(remotePath(path), revision);
      ctx.io.stdout.write(`restored ${file.path} to the content of revision ${revision} (now revision ${file.revision})\n`);
    });
}

function toRevision(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a revision number (1, 2, ...)');
  return n;
}

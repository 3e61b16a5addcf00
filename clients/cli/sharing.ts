import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './context';
import { formatEntry } from './files';
import { namingPath, printJson } from './help';
import { remoteArg } from './resolve';

/** `share`, `shares`, `unshare`, `shared`. */
export function registerSharingCommands(program: Command, ctx: CliContext): void {
  program
    .command('share')
    .description('share a file or folder with someone (again: change their role)')
    .argument('<path>', 'remote file or folder')
    .argument('<email>', "the other user's account email")
    .option('--role <role>', 'viewer (read only) or editor (may change files inside a shared folder)', toRole, 'VIEWER')
    .action(async (path: string, email: string, o: { role: 'VIEWER' | 'EDITOR' }) => {
      const client = await ctx.client();
      const target = await remoteArg(client, path);
      const share = await namingPath(target, () => client.share(target, email, o.role));
      ctx.io.stdout.write(`shared ${target} with ${share.user.email} as ${share.role.toLowerCase()} (share ${share.id})\n`);
    });

  program
    .command('shares')
    .description('who a file or folder is shared with')
    .argument('<path>', 'remote file or folder')
    .option('--json', 'print JSON (a list of { id, role, user, sharedBy, createdAt }) for scripts')
    .action(async (path: string, o: { json?: boolean }) => {
      const client = await ctx.client();
      const target = await remoteArg(client, path);
      const shares = await namingPath(target, () => client.sharesOf(target));
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), shares);
      for (const s of shares) {
        ctx.io.stdout.write(`${s.id}  ${s.role.toLowerCase().padEnd(6)}  ${s.user.email}\n`);
      }
    });

  program
    .command('unshare')
    .description('end a share (as the owner, or to leave something shared with you)')
    .argument('<share-id>', 'the share id `tessera shares` (owner) or `tessera shared` (to leave it) lists')
    .action(async (shareId: string) => {
      const client = await ctx.client();
      await namingPath(shareId, () => client.unshare(shareId), 'share');
      ctx.io.stdout.write(`unshared ${shareId}\n`);
    });

  program
    .command('shared')
    .description('what others share with you')
    .action(async () => {
      for (const { file, share } of await (await ctx.client()).sharedWithMe()) {
        ctx.io.stdout.write(`${formatEntry(file, false)}  (${share.role.toLowerCase()}, from ${share.sharedBy.email}, share ${share.id}, file ${file.id})\n`);
      }
    });
}

function toRole(value: string): 'VIEWER' | 'EDITOR' {
  const role = value.toUpperCase();
  if (role !== 'VIEWER' && role !== 'EDITOR') throw new InvalidArgumentError('viewer or editor');
  return role;
}

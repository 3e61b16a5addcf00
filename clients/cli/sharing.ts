import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './context';
import { formatEntry } from './files';
import { remoteArg } from './resolve';

/** `share`, `shares`, `unshare`, `shared`. */
export function registerSharingCommands(program: Command, ctx: CliContext): void {
  program
    .command('share')
    .description('share a file or folder with someone (again: change their role)')
    .argument('<path>')
    .argument('<email>')
    .option('--role <role>', 'viewer or editor', toRole, 'VIEWER')
    .action(async (path: string, email: string, o: { role: 'VIEWER' | 'EDITOR' }) => {
      const client = await ctx.client();
      const target = await remoteArg(client, path);
      const share = await client.share(target, email, o.role);
      ctx.io.stdout.write(`shared ${target} with ${share.user.email} as ${share.role.toLowerCase()} (share ${share.id})\n`);
    });

  program
    .command('shares')
    .description('who a file or folder is shared with')
    .argument('<path>')
    .action(async (path: string) => {
      const client = await ctx.client();
      for (const s of await client.sharesOf(await remoteArg(client, path))) {
        ctx.io.stdout.write(`${s.id}  ${s.role.toLowerCase().padEnd(6)}  ${s.user.email}\n`);
      }
    });

  program
    .command('unshare')
    .description('end a share (as the owner, or to leave something shared with you)')
    .argument('<share-id>', 'the share id `tessera shares` (owner) or `tessera shared` (to leave it) lists')
    .action(async (shareId: string) => {
      await (await ctx.client()).unshare(shareId);
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

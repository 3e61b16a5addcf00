import { InvalidArgumentError, type Command } from 'commander';
import { TesseraError } from '../sdk/errors';
import { createShareLink, revokeShareLink, shareLinksOf, type ShareLinkInfo } from '../sdk/links';
import type { CliContext } from './context';
import { remotePath } from './files';
import { printJson } from './help';

/**
 * `link create|ls|revoke`: public links to a file (opens the download) or a folder (a page listing
 * its files, and a zip of them all). `create` prints the link's absolute URL, shown only then.
 */
export function registerLinkCommands(program: Command, ctx: CliContext): void {
  const link = program
    .command('link')
    .description('public links to a file or folder: anyone with the URL (and the password, if set) can download');

  link
    .command('create')
    .description('create a public link and print its URL (shown only now; the server keeps a hash)')
    .argument('<path>', 'remote file or folder')
    .option('--expires <when>', 'expiry: a duration (30m, 12h, 7d) or an ISO date (2027-01-31T12:00:00Z); default: never', (v: string) => toExpiry(v))
    .option('--password <password>', 'ask for this password before downloading')
    .option('--json', 'print JSON ({ id, url, expiresAt, hasPassword, createdAt, file }) for scripts')
    .action(async (path: string, o: { expires?: string; password?: string; json?: boolean }) => {
      const client = await ctx.client();
      const node = await client.fileByPath(remotePath(path));
      if (!node) throw new TesseraError('NOT_FOUND', `no such file or folder: ${remotePath(path)}`);
      const created = await createShareLink(client.api, node.id, { expiresAt: o.expires, password: o.password });
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), created);
      ctx.io.stdout.write(`${created.url}\n`);
      ctx.io.stderr.write(`link ${created.id} to ${created.file.path}${created.file.isFolder ? '/ (a page listing it, and a zip)' : ''}${describe(created)}\n`);
    });

  link
    .command('ls')
    .description('the live links of a file or folder (their URLs are not shown again)')
    .argument('<path>', 'remote file or folder')
    .option('--json', 'print JSON (a list of { id, expiresAt, hasPassword, createdAt, file }) for scripts')
    .action(async (path: string, o: { json?: boolean }) => {
      const client = await ctx.client();
      const node = await client.fileByPath(remotePath(path));
      if (!node) throw new TesseraError('NOT_FOUND', `no such file or folder: ${remotePath(path)}`);
      const links = await shareLinksOf(client.api, node.id);
      if (o.json) return printJson((s) => ctx.io.stdout.write(s), links);
      for (const l of links) ctx.io.stdout.write(`${l.id}  ${l.createdAt.slice(0, 10)}${describe(l)}\n`);
    });

  link
    .command('revoke')
    .description('revoke a link: its URL stops working (on the local store, download URLs it handed out too)')
    .argument('<id>', 'link id, as `tessera link ls <path>` or `link create` print it')
    .action(async (id: string) => {
      const changed = await revokeShareLink((await ctx.client()).api, id).catch((e: { code?: string }) => {
        if (e?.code === 'NOT_FOUND') throw new TesseraError('NOT_FOUND', `no such link: ${id}`);
        throw e;
      });
      ctx.io.stdout.write(changed ? `revoked link ${id}\n` : `link ${id} was already revoked\n`);
    });
}

function describe(l: ShareLinkInfo): string {
  return `${l.expiresAt ? `, expires ${l.expiresAt.replace('T', ' ').slice(0, 16)} UTC` : ', no expiry'}${l.hasPassword ? ', password' : ''}`;
}

/** "30m", "12h", "7d", "2w" from now, or a date Date.parse understands; as ISO. */
export function toExpiry(value: string, now = Date.now()): string {
  const m = /^(\d+)\s*([smhdw])$/i.exec(value.trim());
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 } as const;
  const at = m ? now + Number(m[1]) * unit[m[2].toLowerCase() as keyof typeof unit] * 1000 : Date.parse(value);
  if (!Number.isFinite(at) || at <= now) throw new InvalidArgumentError('a duration (30m, 12h, 7d) or a future date (2027-01-31T12:00:00Z)');
  return new Date(at).toISOString();
}

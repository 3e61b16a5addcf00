import { InvalidArgumentError, type Command } from 'commander';
import type { ChangeInfo } from '../sdk/changes';
import { isAbortError } from '../sdk/errors';
import type { CliContext } from './context';
import { interruptible } from './interrupt';

/** `changes`: the change journal, one line per change; `--follow` keeps streaming live changes. */
export function registerChangeCommands(program: Command, ctx: CliContext): void {
  program
    .command('changes')
    .description('what changed in your files, oldest first (the next cursor goes to stderr); --follow streams live')
    .option('--cursor <cursor>', 'start after this cursor (default: everything the journal keeps, or from now on with --follow)')
    .option('-f, --follow', 'keep streaming changes as they happen (until Ctrl-C)')
    .option('--limit <n>', 'changes per page', toLimit, 200)
    .option('--json', 'one JSON object per line per change ({ cursor, kind, path, fromPath, fileId, isFolder, revision, at, ... }), then { "cursor": next } unless --follow')
    .action(async (o: { cursor?: string; follow?: boolean; limit: number; json?: boolean }) => {
      const client = await ctx.client();
      const print = (c: ChangeInfo) => ctx.io.stdout.write((o.json ? JSON.stringify(c) : formatChange(c)) + '\n');
      if (!o.follow) {
        let cursor = o.cursor;
        for (;;) {
          const page = await client.changes(cursor, o.limit);
          page.changes.forEach(print);
          cursor = page.cursor;
          if (!page.hasMore) break;
        }
        if (o.json) ctx.io.stdout.write(JSON.stringify({ cursor }) + '\n');
        else ctx.io.stderr.write(`cursor: ${cursor}\n`);
        return;
      }
      const stop = interruptible('stopped');
      try {
        for await (const c of client.watchChanges({ cursor: o.cursor, signal: stop.signal })) print(c);
      } catch (e) {
        if (!isAbortError(e)) throw e;
      } finally {
        stop.dispose();
      }
    });
}

/** `2026-11-23 05:40:01  MOVED     /new/path  (from /old/path)  rev 2` */
export function formatChange(c: ChangeInfo): string {
  const when = c.at.replace('T', ' ').slice(0, 19);
  const what = c.isFolder && !c.path.endsWith('/') ? c.path + '/' : c.path;
  return `${when}  ${c.kind.padEnd(9)} ${what}${c.fromPath ? `  (from ${c.fromPath})` : ''}  rev ${c.revision}`;
}

function toLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError('a number from 1 to 1000');
  return n;
}

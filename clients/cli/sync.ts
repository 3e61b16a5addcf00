import type { Command } from 'commander';
import { resolve } from 'node:path';
import { isAbortError } from '../sdk/errors';
import { prepareRemoteRoot } from '../sync/binding';
import { describeOutcome } from '../sync/describe';
import { SyncEngine } from '../sync/engine';
import type { SyncHalted } from '../sync/halt';
import { isUnreachable } from '../sync/status';
import type { CliContext } from './context';
import { interruptible } from './interrupt';
import { reportTransfers, SyncReporter } from './sync-output';

/**
 * `sync <folder> [--remote /path] [--once]`: keeps a folder identical to a remote folder
 * (state in <folder>/.tessera). Without `--remote`, the root the folder is bound to, else "/"
 * (binding.ts). `--once` runs one full cycle and exits (1 if an action failed); otherwise it
 * watches both sides until Ctrl-C / SIGTERM, or until going on would destroy data (the folder
 * deleted, the remote folder moved: exit 1 with the reason). One line per action on stdout; on
 * stderr, progress of big files, `up to date`, and `offline: ...` / `reconnected ...` as the
 * server goes away and comes back (sync-output.ts). The engine keeps its state in
 * <folder>/.tessera/status.json for `tessera status`.
 */
export function registerSyncCommands(program: Command, ctx: CliContext): void {
  program
    .command('sync')
    .description('keep a local folder and a remote folder identical, both ways (state in <folder>/.tessera)')
    .argument('<folder>', 'local folder to keep in sync (created if missing)')
    .option('-r, --remote <path>', 'remote folder (default: the one the folder is synced with, else /)')
    .option('--once', 'run one full sync cycle and exit')
    .action(async (dir: string, o: { remote?: string; once?: boolean }) => {
      const plainClient = await ctx.client();
      const folder = resolve(ctx.io.cwd, dir);
      const remoteRoot = prepareRemoteRoot(folder, o.remote);
      const print = (line: string | null) => { if (line) ctx.io.stdout.write(line + '\n'); };
      const reporter = new SyncReporter(remoteRoot, (line) => ctx.io.stderr.write(line + '\n'), !o.once);
      const client = reportTransfers(plainClient, reporter.progress);
      let haltedWith: (e: SyncHalted) => void = () => undefined;
      const engine = await SyncEngine.open({
        client, folder, remoteRoot,
        onHalt: (e) => haltedWith(e),
        onOutcome: (out) => print(describeOutcome(out)),
        onStatus: reporter.status,
        // an unreachable server is told once, by the offline line, not by every failed cycle
        onError: (e) => { if (!isUnreachable(e)) ctx.io.stderr.write(`sync: ${(e as { code?: string }).code ?? 'ERROR'}: ${e.message}\n`); },
      });
      try {
        if (o.once) {
          const r = await engine.runOnce();
          for (const p of r.scanProblems) ctx.io.stderr.write(`sync: cannot read ${p.rel}: ${(p.error as Error).message}\n`);
          if (r.errors.length > 0) throw Object.assign(new Error(`${r.errors.length} action(s) failed; they are retried on the next run`), { code: 'SYNC_INCOMPLETE' });
          return;
        }
        const stop = interruptible('stopped');
        try {
          engine.start();
          ctx.io.stderr.write(`syncing ${engine.folder} <-> ${engine.remoteRoot} (Ctrl-C to stop)\n`);
          const halted = await new Promise<SyncHalted | null>((r) => {
            stop.signal.addEventListener('abort', () => r(null), { once: true });
            haltedWith = r;
          });
          if (halted) throw halted;
        } catch (e) {
          if (!isAbortError(e)) throw e;
        } finally {
          stop.dispose();
        }
      } finally {
        await engine.close();
      }
    });
}

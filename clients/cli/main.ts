import { Command, CommanderError } from 'commander';
import { isAbortError, isTesseraError } from '../sdk/errors';
import { registerAuthCommands } from './auth';
import { registerChangeCommands } from './changes';
import { loadConfig } from './config';
import { CliContext, processIo, type CliIo } from './context';
import { registerFileCommands } from './files';
import { addExamples } from './examples';
import { registerHistoryCommands } from './history';
import { registerKeyCommands } from './keys';
import { registerLinkCommands } from './links';
import { registerServeCommands } from './serve';
import { registerSharingCommands } from './sharing';
import { registerStatusCommands } from './status';
import { registerSyncCommands } from './sync';
import { registerTransferCommands } from './transfer';
import { cliVersion } from './version';

/**
 * Runs the `tessera` command with `argv` (the arguments after the program name) and resolves
 * with the exit code; it never calls process.exit. Failures print `error: <CODE>: <message>`
 * on stderr and give 1 (130 when interrupted).
 */
export async function main(argv: string[] = process.argv.slice(2), io: CliIo = processIo()): Promise<number> {
  const program = new Command('tessera')
    .description('Tessera file storage: sign in, list, upload, download and share files')
    .version(cliVersion(), '-V, --version', 'print the version')
    .option('-s, --server <url>', 'server URL (default: $TESSERA_SERVER, else the server of the last login/signup, else http://localhost:4000)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  const ctx = new CliContext(io, () => program.opts<{ server?: string }>().server, (await loadConfig(io.env)).current);
  registerAuthCommands(program, ctx);
  registerFileCommands(program, ctx);
  registerTransferCommands(program, ctx);
  registerSharingCommands(program, ctx);
  registerLinkCommands(program, ctx);
  registerHistoryCommands(program, ctx);
  registerChangeCommands(program, ctx);
  registerServeCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerSyncCommands(program, ctx);
  registerStatusCommands(program, ctx);
  addExamples(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode;
    const code = errorCode(e);
    const message = String((e as Error)?.message ?? e).replace(new RegExp(`^${code}: `), '');
    io.stderr.write(`error: ${code}: ${message}\n`);
    return isAbortError(e) ? 130 : 1;
  }
}

function errorCode(e: unknown): string {
  if (isTesseraError(e)) return e.code;
  if (isAbortError(e)) return 'ABORTED';
  const code = (e as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'ERROR';
}

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}

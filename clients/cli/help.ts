import type { Command } from 'commander';
import { TesseraError, isTesseraError } from '../sdk/errors';

/**
 * Adds an "Examples:" section to a command's help (`tessera <cmd> --help`); every command has
 * one (test/sdk/cli-help.test.ts checks it, and that every option has a description).
 */
export function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/** The output of `--json`: `value` as indented JSON and a newline. */
export function printJson(write: (s: string) => unknown, value: unknown): void {
  write(JSON.stringify(value, null, 2) + '\n');
}

/**
 * Runs `act` on remote `path` (or another named thing: `what` is then e.g. "share"); a NOT_FOUND
 * about it whose message does not name it is re-thrown as `NOT_FOUND: no such <what>: <path>` (the
 * server's own messages name no paths). A NOT_FOUND about something else (an unknown user's email,
 * `extensions.reason`) is left as it is.
 */
export async function namingPath<T>(path: string, act: () => Promise<T>, what = 'file or folder'): Promise<T> {
  try {
    return await act();
  } catch (e) {
    if (isTesseraError(e, 'NOT_FOUND') && !e.details.extensions?.reason && !e.message.includes(path)) throw new TesseraError('NOT_FOUND', `no such ${what}: ${path}`);
    throw e;
  }
}

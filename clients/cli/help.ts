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
 * Runs `act` on remote `path`; a NOT_FOUND whose message does not name the path is re-thrown as
 * `NOT_FOUND: no such file or folder: <path>` (the server's own messages name no paths).
 */
export async function namingPath<T>(path: string, act: () => Promise<T>): Promise<T> {
  try {
    return await act();
  } catch (e) {
    if (isTesseraError(e, 'NOT_FOUND') && !e.message.includes(path)) throw new TesseraError('NOT_FOUND', `no such file or folder: ${path}`);
    throw e;
  }
}

import type { Command } from 'commander';

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

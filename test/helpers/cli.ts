import type { CliIo } from '../../clients/cli/context';

/** I/O for `main()` of the CLI that records what it prints; `env` picks server, config dir, device name. */
export function cliIo(env: Record<string, string>, cwd: string): CliIo & { out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    stdout: { write: (s: string) => out.push(s) },
    stderr: { write: (s: string) => err.push(s), isTTY: false },
    stdin: process.stdin,
    env,
    cwd,
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

import type { Readable, Writable } from 'node:stream';
import { TesseraClient } from '../sdk/client';
import { TesseraError } from '../sdk/errors';
import { exitQuietlyOnBrokenPipe } from './broken-pipe';
import { loadConfig, resolveServer } from './config';
import type { ProgressStream } from './progress';

/** Where the CLI reads and writes; tests pass their own. */
export interface CliIo {
  stdout: { write(s: string): unknown };
  stderr: ProgressStream;
  stdin: Readable;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** Defaults to the process's streams and environment; a closed stdout/stderr pipe ends the process quietly (exit 0). */
export function processIo(): CliIo {
  exitQuietlyOnBrokenPipe();
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd() };
}

/** Per-invocation state shared by the commands. */
export class CliContext {
  /** `current`: the server of the current profile (config.json), read once before the command runs. */
  constructor(readonly io: CliIo, private readonly serverFlag: () => string | undefined, private readonly current?: string) {}

  get server(): string {
    return resolveServer(this.serverFlag(), this.io.env, this.current);
  }

  /** A client without a token (for signup and login). */
  anonymousClient(): TesseraClient {
    return new TesseraClient({ server: this.server });
  }

  /** A client with the token saved for this server; UNAUTHENTICATED if there is none. */
  async client(): Promise<TesseraClient> {
    const token = this.io.env.TESSERA_TOKEN || (await loadConfig(this.io.env)).profiles[this.server]?.token;
    if (!token) throw new TesseraError('UNAUTHENTICATED', `not logged in to ${this.server}; run \`tessera login --server ${this.server}\` (or \`tessera signup\`)`);
    return new TesseraClient({ server: this.server, token });
  }

  get promptOutput(): Writable {
    return this.io.stderr as unknown as Writable;
  }
}

let installed = false;

/**
 * Ends the process quietly with exit code 0 when stdout or stderr is a pipe whose reader has
 * gone (`tessera ls | head -2`), as Unix tools do, instead of an unhandled EPIPE and a stack
 * trace. Other stream errors stay fatal as before. Installed once per process.
 */
export function exitQuietlyOnBrokenPipe(): void {
  if (installed) return;
  installed = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}

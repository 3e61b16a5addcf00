import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/**
 * Asks one question on `output` and reads a line from `input`; with `hidden`, typed
 * characters are not echoed (for passwords on a terminal).
 */
export function ask(question: string, io: { input: Readable; output: Writable }, opts: { hidden?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    let muted = false;
    const output = io.output;
    const proxy = Object.create(output) as Writable;
    proxy.write = ((chunk: unknown, ...rest: unknown[]) =>
      muted ? true : (output.write as (...a: unknown[]) => boolean)(chunk, ...rest)) as Writable['write'];
    const rl = createInterface({ input: io.input, output: proxy, terminal: Boolean((io.input as { isTTY?: boolean }).isTTY) });
    rl.question(question, (answer) => {
      rl.close();
      if (opts.hidden) output.write('\n');
      resolve(answer);
    });
    muted = Boolean(opts.hidden);
    rl.on('close', () => resolve(''));
    rl.on('error', reject);
  });
}

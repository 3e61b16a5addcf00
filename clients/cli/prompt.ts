import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** Asks questions one after another over a single readline (so piped answers are not lost). */
export interface Prompter {
  /** Shows `question` and resolves with the next line ('' at end of input); `hidden` does not echo typing. */
  ask(question: string, opts?: { hidden?: boolean }): Promise<string>;
  close(): void;
}

/** A prompter reading `input` and writing questions to `output`. */
export function createPrompter(io: { input: Readable; output: Writable }): Prompter {
  let muted = false;
  const output = io.output;
  const proxy = Object.create(output) as Writable;
  proxy.write = ((chunk: unknown, ...rest: unknown[]) =>
    muted ? true : (output.write as (...a: unknown[]) => boolean).call(output, chunk, ...rest)) as Writable['write'];
  const terminal = Boolean((io.input as { isTTY?: boolean }).isTTY);
  const rl: Interface = createInterface({ input: io.input, output: proxy, terminal });
  const lines: string[] = [];
  const waiting: ((line: string | undefined) => void)[] = [];
  let closed = false;
  rl.on('line', (line) => (waiting.length ? waiting.shift()!(line) : lines.push(line)));
  rl.on('close', () => {
    closed = true;
    for (const w of waiting.splice(0)) w(undefined);
  });

  return {
    async ask(question, opts = {}) {
      output.write(question);
      muted = Boolean(opts.hidden) && terminal;
      const line = lines.length ? lines.shift() : closed ? undefined : await new Promise<string | undefined>((r) => waiting.push(r));
      if (muted) output.write('\n');
      muted = false;
      return line ?? '';
    },
    close() {
      rl.close();
    },
  };
}

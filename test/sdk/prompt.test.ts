import { PassThrough, Writable } from 'node:stream';
import { createPrompter } from '../../clients/cli/prompt';

describe('createPrompter', () => {
  it('reads successive answers from piped input without losing buffered lines', async () => {
    const input = new PassThrough();
    let shown = '';
    const output = new Writable({ write: (c, _e, done) => { shown += String(c); done(); } });
    input.end('me@example.com\nsecret pass\n');
    const prompt = createPrompter({ input, output });
    await expect(prompt.ask('email: ')).resolves.toBe('me@example.com');
    await expect(prompt.ask('password: ', { hidden: true })).resolves.toBe('secret pass');
    await expect(prompt.ask('more: ')).resolves.toBe('');
    prompt.close();
    expect(shown).toBe('email: password: more: ');
  });
});

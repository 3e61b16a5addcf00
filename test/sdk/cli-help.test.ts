import { Command } from 'commander';
import { main } from '../../clients/cli/main';
import { cliIo } from '../helpers/cli';

/** Every command path of the CLI, found by reading `tessera --help` and each group's help. */
async function commandPaths(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (prefix: string[]) => {
    const io = cliIo({}, process.cwd());
    await main([...prefix, '--help'], io);
    const section = io.out().split(/\nCommands:\n/)[1] ?? '';
    for (const line of section.split('\n')) {
      const m = /^ {2}([a-z][a-z-]*)\b/.exec(line);
      if (!m || m[1] === 'help') continue;
      out.push([...prefix, m[1]].join(' '));
      await walk([...prefix, m[1]]);
    }
  };
  await walk([]);
  return out;
}

/**
 * Help text: every command has a description and an "Examples:" section, and every option and
 * argument has a description; the list of commands is read from the CLI's own help.
 */
describe('tessera help', () => {
  it('every command: a description, examples; every option and argument: a description', async () => {
    const paths = await commandPaths();
    expect(paths).toEqual(expect.arrayContaining(['signup', 'login', 'whoami', 'ls', 'mkdir', 'mv', 'rm', 'upload', 'download', 'link', 'link create', 'link ls', 'link revoke', 'serve', 'sync']));
    const problems: string[] = [];
    for (const path of paths) {
      const io = cliIo({}, process.cwd());
      expect(await main([...path.split(' '), '--help'], io)).toBe(0);
      const help = io.out();
      if (!/\n\n\S.*\n/.test(help.split('\n').slice(0, 3).join('\n') + '\n')) problems.push(`${path}: no description`);
      if (!/\nExamples:\n {2}\$ tessera /.test(help)) problems.push(`${path}: no examples`);
      // "Options:" and "Arguments:" sections: each entry is "  <flags>  <description>"
      for (const section of ['Options', 'Arguments']) {
        const body = help.split(new RegExp(`\\n${section}:\\n`))[1]?.split(/\n\n/)[0] ?? '';
        for (const line of body.split('\n')) {
          if (/^ {2}\S/.test(line) && !/^ {2}\S.*? {2,}\S/.test(line)) problems.push(`${path}: ${section.toLowerCase().slice(0, -1)} without a description: ${line.trim()}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('the checker itself sees a missing option description', () => {
    const cmd = new Command('x').option('--bare').configureOutput({ writeOut: () => undefined });
    const help = cmd.helpInformation();
    const body = help.split(/\nOptions:\n/)[1] ?? '';
    expect(body.split('\n').some((l) => /^ {2}\S/.test(l) && !/^ {2}\S.*? {2,}\S/.test(l))).toBe(true);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

/** `share`, `shares`, `shared`, `unshare`, `trash`, `restore`, `revisions`, `restore-revision` against a real server. */
describe('tessera CLI sharing and history commands', () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-share-'));
  });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const as = (who: string) => () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, who) }, dir);
  async function run(io: ReturnType<ReturnType<typeof as>>, ...argv: string[]) {
    const code = await main(argv, io);
    return { code, out: io.out(), err: io.err() };
  }

  it('shares a folder, lists and ends the share; the grantee sees it, then no longer', async () => {
    const alice = as('alice');
    const bob = as('bob');
    const aliceEmail = `alice-${Date.now()}@example.com`;
    const bobEmail = `bob-${Date.now()}@example.com`;
    expect((await run(alice(), 'signup', '--email', aliceEmail, '--password', 'correct horse battery')).code).toBe(0);
    expect((await run(bob(), 'signup', '--email', bobEmail, '--password', 'correct horse battery')).code).toBe(0);
    expect((await run(alice(), 'mkdir', '/team')).code).toBe(0);

    let r = await run(alice(), 'share', '/team', bobEmail, '--role', 'editor');
    expect(r.code).toBe(0);
    const shareId = /\(share (\S+)\)/.exec(r.out)![1];
    expect(r.out).toBe(`shared /team with ${bobEmail} as editor (share ${shareId})\n`);
    r = await run(alice(), 'shares', '/team');
    expect(r.out).toBe(`${shareId}  editor  ${bobEmail}\n`);
    r = await run(bob(), 'shared');
    expect(r.out).toMatch(new RegExp(`team/  \\(editor, from ${aliceEmail.replace(/[.]/g, '\\.')}, share ${shareId}, file \\S+\\)\\n$`));

    r = await run(alice(), 'share', '/team', bobEmail, '--role', 'owner');
    expect(r.code).not.toBe(0);
    expect(r.err).toMatch(/viewer or editor/);

    expect((await run(alice(), 'unshare', shareId)).out).toBe(`unshared ${shareId}\n`);
    expect((await run(bob(), 'shared')).out).toBe('');

    // the grantee leaves a share with the id `shared` prints
    expect((await run(alice(), 'share', '/team', bobEmail, '--role', 'viewer')).code).toBe(0);
    const again = /share (\S+), file/.exec((await run(bob(), 'shared')).out)![1];
    expect((await run(bob(), 'unshare', again)).out).toBe(`unshared ${again}\n`);
    expect((await run(bob(), 'shared')).out).toBe('');
    expect((await run(alice(), 'shares', '/team')).out).toBe('');
  });

  it('lists the trash and restores from it; lists revisions and restores one', async () => {
    const carol = as('carol');
    expect((await run(carol(), 'signup', '--email', `carol-${Date.now()}@example.com`, '--password', 'correct horse battery')).code).toBe(0);
    const v1 = randomBytes(3000);
    const v2 = randomBytes(5000);
    const src = join(dir, 'doc.bin');
    await writeFile(src, v1);
    expect((await run(carol(), 'upload', src, '/doc.bin')).code).toBe(0);
    await writeFile(src, v2);
    expect((await run(carol(), 'upload', src, '/doc.bin')).code).toBe(0);

    expect((await run(carol(), 'mkdir', '/a-folder')).code).toBe(0);
    const onFolder = await run(carol(), 'revisions', '/a-folder');
    expect(onFolder.code).not.toBe(0);
    expect(onFolder.err).toMatch(/BAD_USER_INPUT.*is a folder/);
    let r = await run(carol(), 'revisions', '/doc.bin');
    expect(r.out.split('\n').filter(Boolean).map((l) => l.slice(0, 6))).toEqual(['*    2', '     1']);
    r = await run(carol(), 'restore-revision', '/doc.bin', '1');
    expect(r.out).toBe('restored /doc.bin to the content of revision 1 (now revision 3)\n');
    expect((await run(carol(), 'download', '/doc.bin', join(dir, 'doc.out'))).code).toBe(0);
    expect((await readFile(join(dir, 'doc.out'))).equals(v1)).toBe(true);
    expect((await run(carol(), 'restore-revision', '/doc.bin', 'x')).code).not.toBe(0);

    expect((await run(carol(), 'rm', '/doc.bin')).code).toBe(0);
    r = await run(carol(), 'trash');
    const [line] = r.out.split('\n');
    expect(line).toMatch(/^\S+ +2\.9 KiB  \/doc\.bin$/); // the current content: revision 1's 3000 bytes
    const id = line.split(/\s+/)[0];
    expect((await run(carol(), 'restore', id)).out).toBe('restored /doc.bin\n');
    expect((await run(carol(), 'trash')).out).toBe('');
    expect((await run(carol(), 'ls', '/')).out).toMatch(/doc\.bin\n$/);
  });
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import { TesseraClient } from '../../clients/sdk/client';
import { MIB } from '../../clients/sdk/hashing';
import { testDatabases } from '../helpers/db';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';

/**
 * Issue 14's scenario through the CLI, in process against a real server: alice shares /small
 * with bob as editor (and carol as viewer); bob works in it by path and by id, and what he
 * uploads lands in alice's folder.
 */
describe.each(testDatabases)('tessera CLI in a shared folder (mount) on %s', (db) => {
  let server: TestServer;
  let dir: string;
  const users: Record<string, { email: string; env: Record<string, string>; client: TesseraClient }> = {};

  beforeAll(async () => {
    server = await startTestServer({ db });
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-mounts-'));
    for (const name of ['alice', 'bob', 'carol']) {
      const email = `${name}-${Date.now()}-${db}@example.com`;
      const anon = new TesseraClient({ server: server.url });
      const { token } = await anon.signUp(email, 'correct horse battery');
      users[name] = { email, env: { TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, name), TESSERA_TOKEN: token }, client: new TesseraClient({ server: server.url, token }) };
    }
  });
  // the trees, shares and mounts stay consistent after every step (test/helpers/tree-invariants.ts)
  afterEach(async () => { expect(await treeViolations(server.app.services.ds)).toEqual([]); });
  afterAll(async () => {
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function run(who: string, ...argv: string[]) {
    const io = cliIo(users[who].env, dir);
    const code = await main(argv, io);
    return { code, out: io.out(), err: io.err() };
  }
  const ok = async (who: string, ...argv: string[]) => {
    const r = await run(who, ...argv);
    if (r.code !== 0) throw new Error(`tessera ${argv.join(' ')} as ${who}: ${r.err}`);
    return r.out;
  };

  test('share /small with bob as editor: ls, ls <id>, download <id>, upload, mv, rm inside it by his paths', async () => {
    const a = randomBytes(3000);
    await writeFile(join(dir, 'a.txt'), a);
    await ok('alice', 'upload', join(dir, 'a.txt'), '/small/a.txt');
    await ok('alice', 'share', '/small', users.bob.email, '--role', 'editor');
    await ok('alice', 'share', '/small', users.carol.email, '--role', 'viewer');

    const shared = await ok('bob', 'shared');
    const folderId = /file ([0-9a-f-]{36})/.exec(shared)![1];
    expect(await ok('bob', 'ls', '/')).toMatch(/small\/\n$/);
    expect(await ok('bob', 'ls', '/small')).toMatch(/a\.txt\n$/);
    expect(await ok('bob', 'ls', folderId)).toMatch(/a\.txt\n$/);

    const fileId = (await users.bob.client.fileByPath('/small/a.txt'))!.id;
    await ok('bob', 'download', fileId, join(dir, 'got.txt'));
    expect((await readFile(join(dir, 'got.txt'))).equals(a)).toBe(true);
    await ok('bob', 'download', '/small', join(dir, 'copy'));
    expect((await readFile(join(dir, 'copy', 'a.txt'))).equals(a)).toBe(true);

    const big = randomBytes(9 * MIB);
    await writeFile(join(dir, 'big.bin'), big);
    expect((await run('bob', 'upload', join(dir, 'big.bin'), '/small/x.bin')).err).toContain('-> /small/x.bin'); // the summary goes to stderr
    const landed = await users.alice.client.fileByPath('/small/x.bin');
    expect(landed).toMatchObject({ size: String(big.length) });
    expect(await ok('alice', 'ls', '/small')).toMatch(/x\.bin/);
    expect((await users.bob.client.listFolder('/')).map((f) => f.name)).toEqual(['small']); // no /small of bob's own

    expect(await ok('bob', 'mv', '/small/x.bin', '/small/y.bin')).toContain('-> /small/y.bin');
    expect(await users.alice.client.fileByPath('/small/y.bin')).toMatchObject({ id: landed!.id });
    expect(await ok('bob', 'rm', '/small/y.bin')).toContain('deleted /small/y.bin');
    expect(await users.alice.client.fileByPath('/small/y.bin')).toBeNull();

    // bob renames his mount: alice's folder stays where it is
    expect(await ok('bob', 'mv', '/small', '/from-alice')).toContain('-> /from-alice');
    expect(await ok('bob', 'ls', '/from-alice')).toMatch(/a\.txt\n$/);
    expect(await users.alice.client.fileByPath('/small')).toBeTruthy();

    // carol may read but not write
    await ok('carol', 'download', '/small/a.txt', join(dir, 'carol.txt'));
    const refused = await run('carol', 'upload', join(dir, 'a.txt'), '/small/c.txt');
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('FORBIDDEN');
    expect(await users.alice.client.fileByPath('/small/c.txt')).toBeNull();
  });
});

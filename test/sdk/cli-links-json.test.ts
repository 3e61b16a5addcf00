import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toExpiry } from '../../clients/cli/links';
import { main } from '../../clients/cli/main';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * The CLI's profiles (the current server), `link create|ls|revoke`, `--json` output, not-found
 * messages naming the path, and the message of a deduplicated upload.
 */
describe('tessera CLI: profiles, links, --json', () => {
  let server: TestServer;
  let other: TestServer;
  let dir: string;
  const cfg = () => join(dir, 'cfg');
  const run = async (args: string[], env: Record<string, string> = {}) => {
    const io = cliIo({ TESSERA_CONFIG_DIR: cfg(), ...env }, dir);
    const code = await main(args, io);
    return { code, out: io.out(), err: io.err() };
  };
  beforeAll(async () => {
    [server, other] = await Promise.all([startTestServer(), startTestServer()]);
    dir = await mkdtemp(join(tmpdir(), 'tessera-cli-links-'));
  });
  afterAll(async () => {
    await Promise.all([server?.stop(), other?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('signup/login with --server make that server current; later commands use it; logout forgets it', async () => {
    const email = `profile-${Date.now()}@example.com`;
    expect((await run(['--server', other.url, 'signup', '--email', email, '--password', 'correct horse battery', '--device', 'box'])).code).toBe(0);
    const who = await run(['whoami']);
    expect(who.err).toBe('');
    expect(who.out).toContain(`server   ${other.url}\naccount  ${email}\ndevice   box (`);
    expect(who.out).toMatch(/usage {4}0 B of 1\.0 TiB \(0\.0%\)/);
    const json = JSON.parse((await run(['whoami', '--json'])).out);
    expect(json).toMatchObject({ server: other.url, user: { email, usage: '0', quotaBytes: String(1024 ** 4) }, device: { name: 'box', current: true } });

    // the main server becomes current after signing up there; $TESSERA_SERVER and --server still win
    const main2 = `profile2-${Date.now()}@example.com`;
    expect((await run(['--server', server.url, 'signup', '--email', main2, '--password', 'correct horse battery'])).code).toBe(0);
    expect((await run(['whoami'])).out).toContain(`account  ${main2}`);
    expect((await run(['whoami'], { TESSERA_SERVER: other.url })).out).toContain(`account  ${email}`);
    expect((await run(['--server', other.url, 'whoami'])).out).toContain(`account  ${email}`);
    const config = JSON.parse(await readFile(join(cfg(), 'config.json'), 'utf8'));
    expect(config.current).toBe(server.url);

    // logging out of the current server forgets it: then the default (and a hint naming it)
    expect((await run(['logout'])).out).toBe(`logged out of ${server.url}\n`);
    const after = await run(['whoami']);
    expect(after.code).toBe(1);
    expect(after.err).toContain('not logged in to http://localhost:4000');
    expect((await run(['--server', server.url, 'login', '--email', main2, '--password', 'correct horse battery'])).code).toBe(0);
    expect((await run(['whoami'])).out).toContain(`server   ${server.url}`);
  });

  it('link create (expiry, password), link ls, link revoke; absolute URLs that work', async () => {
    await writeFile(join(dir, 'report.txt'), 'quarterly');
    expect((await run(['upload', join(dir, 'report.txt'), '/docs/report.txt'])).code).toBe(0);
    const created = await run(['link', 'create', '/docs/report.txt', '--expires', '2d']);
    expect(created.code).toBe(0);
    const url = created.out.trim();
    expect(url).toMatch(new RegExp(`^${server.url}/s/[A-Za-z0-9_-]{43}$`));
    expect(created.err).toMatch(/^link \S+ to \/docs\/report\.txt, expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\n$/);
    const res = await fetch(url, { redirect: 'follow' });
    expect(await res.text()).toBe('quarterly');

    const folder = JSON.parse((await run(['link', 'create', '/docs', '--password', 'open sesame', '--json'])).out);
    expect(folder).toMatchObject({ hasPassword: true, expiresAt: null, file: { path: '/docs', isFolder: true } });
    expect((await fetch(folder.url)).status).toBe(401);

    const listed = JSON.parse((await run(['link', 'ls', '/docs/report.txt', '--json'])).out);
    expect(listed).toHaveLength(1);
    expect(listed[0].url).toBeNull();
    const plain = await run(['link', 'ls', '/docs/report.txt']);
    expect(plain.out).toContain(listed[0].id);
    expect((await run(['link', 'revoke', listed[0].id])).out).toBe(`revoked link ${listed[0].id}\n`);
    expect((await run(['link', 'revoke', listed[0].id])).out).toBe(`link ${listed[0].id} was already revoked\n`);
    expect((await fetch(url, { redirect: 'manual' })).status).toBe(404);
    expect((await run(['link', 'ls', '/docs/report.txt'])).out).toBe('');

    const bad = await run(['link', 'create', '/docs/report.txt', '--expires', 'yesterday']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/--expires.*a duration/);
    expect(toExpiry('90m', Date.parse('2027-01-01T00:00:00Z'))).toBe('2027-01-01T01:30:00.000Z');
  });

  it('--json on ls, shares, trash, revisions, changes, devices', async () => {
    const ls = JSON.parse((await run(['ls', '/docs', '--json'])).out);
    expect(ls).toEqual([expect.objectContaining({ name: 'report.txt', path: '/docs/report.txt', isFolder: false, size: '9' })]);
    expect(JSON.parse((await run(['shares', '/docs', '--json'])).out)).toEqual([]);
    expect(JSON.parse((await run(['revisions', '/docs/report.txt', '--json'])).out)).toEqual([expect.objectContaining({ revision: 1, size: '9', current: true })]);
    expect((await run(['rm', '/docs/report.txt'])).code).toBe(0);
    expect(JSON.parse((await run(['trash', '--json'])).out)).toEqual([expect.objectContaining({ path: '/docs/report.txt' })]);
    const lines = (await run(['changes', '--json'])).out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.slice(0, -1).map((c) => c.kind)).toEqual(expect.arrayContaining(['CREATED', 'DELETED']));
    expect(lines.at(-1)).toEqual({ cursor: expect.any(String) });
    expect(JSON.parse((await run(['devices', '--json'])).out)).toEqual(expect.arrayContaining([expect.objectContaining({ current: true })]));
  });

  it('not-found messages name the path; a deduplicated upload says "already stored"', async () => {
    for (const args of [['ls', '/nope'], ['mv', '/nope', '/x'], ['rm', '/nope'], ['revisions', '/nope'], ['shares', '/nope'], ['link', 'create', '/nope'], ['restore-revision', '/nope', '1']]) {
      const r = await run(args);
      expect({ args, code: r.code, err: r.err }).toEqual({ args, code: 1, err: expect.stringMatching(/^error: NOT_FOUND: .*\/nope/) });
    }
    const none = '00000000-0000-4000-8000-000000000000';
    for (const [args, what] of [[['restore', none], 'file in the trash'], [['unshare', none], 'share'], [['revoke-device', none], 'device'], [['link', 'revoke', none], 'link']] as const) {
      expect((await run([...args])).err).toBe(`error: NOT_FOUND: no such ${what}: ${none}\n`);
    }
    // a NOT_FOUND about something else keeps its own message: the folder exists, the user does not
    expect((await run(['mkdir', '/team'])).code).toBe(0);
    expect((await run(['share', '/team', 'nobody@example.com'])).err).toBe('error: NOT_FOUND: no user with this email\n');
    await writeFile(join(dir, 'same.bin'), Buffer.alloc(5000, 7));
    expect((await run(['upload', join(dir, 'same.bin'), '/one.bin'])).err).toMatch(/uploaded .* -> \/one\.bin \(4\.9 KiB in/);
    const again = await run(['upload', join(dir, 'same.bin'), '/two.bin']);
    expect(again.code).toBe(0);
    expect(again.err).toBe(`uploaded ${join(dir, 'same.bin')} -> /two.bin: already stored, no bytes sent\n`);
  });
});

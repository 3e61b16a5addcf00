import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testDatabases } from '../helpers/db';
import { gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const ZIP_URL = 'query($id: ID!) { file(id: $id) { zipUrl } }';

/**
 * A signed-in user's folder zip (`File.zipUrl` → /zip/<token>) checks access when opened, like
 * every other read: the owner and a member of a shared folder get the zip; a user without
 * access cannot mint a URL; a minted URL stops working once the share is removed or the
 * folder is trashed; a file has no zipUrl; a forged or truncated token is a 404 page.
 * The zip itself is checked entry by entry with `unzip -t` and its listing.
 */
describe.each(testDatabases)('folder zips on %s', (db) => {
  let srv: TestServer;
  let tmp: string;
  let alice: { token: string };
  let bob: { token: string; email: string };
  let carol: { token: string };
  let folderId: string;
  let fileId: string;

  beforeAll(async () => {
    srv = await startTestServer({ db });
    [alice, bob, carol] = [await signUp(srv.url), await signUp(srv.url), await signUp(srv.url)];
    fileId = (await uploadBytes(srv.url, alice.token, '/Team/plan.txt', Buffer.from('the plan'))).id;
    await uploadBytes(srv.url, alice.token, '/Team/sub/data.bin', crypto.randomBytes(70_000));
    folderId = (await gql(srv.url, '{ fileByPath(path: "/Team") { id } }', {}, alice.token)).data.fileByPath.id;
    tmp = mkdtempSync(join(tmpdir(), 'tessera-fzip-'));
  });
  afterAll(async () => {
    await srv?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const zipUrl = async (token: string, id = folderId) => (await gql(srv.url, ZIP_URL, { id }, token)).data?.file?.zipUrl ?? null;
  const entries = async (url: string): Promise<string[]> => {
    const res = await fetch(srv.url + url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toContain('filename="Team.zip"');
    const file = join(tmp, `${crypto.randomUUID()}.zip`);
    writeFileSync(file, Buffer.from(await res.arrayBuffer()));
    expect(spawnSync('unzip', ['-tq', file]).status).toBe(0);
    const listed = spawnSync('unzip', ['-Z1', file], { encoding: 'utf8' }).stdout.trim().split('\n');
    return listed.sort();
  };

  it('the owner and a member get the zip; a stranger cannot mint a URL; a file has none', async () => {
    expect(await entries((await zipUrl(alice.token))!)).toEqual(['plan.txt', 'sub/data.bin']);
    expect(await zipUrl(carol.token)).toBeNull(); // file(id) is null: not even the folder's existence
    expect(await zipUrl(alice.token, fileId)).toBeNull();
    const share = await gql(srv.url, 'mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: VIEWER) { id } }', { f: folderId, e: bob.email }, alice.token);
    const bobsUrl = (await zipUrl(bob.token))!;
    expect(await entries(bobsUrl)).toEqual(['plan.txt', 'sub/data.bin']);

    // the share removed: the URL Bob already holds answers 404 (an HTML page for a browser)
    await gql(srv.url, 'mutation($id: ID!) { unshare(shareId: $id) }', { id: share.data.shareFile.id }, alice.token);
    const refused = await fetch(srv.url + bobsUrl, { headers: { accept: 'text/html' } });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(refused.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('forged, truncated or trashed: 404', async () => {
    const url = (await zipUrl(alice.token))!;
    const [body, sig] = url.slice('/zip/'.length).split('.');
    const claim = JSON.parse(Buffer.from(body, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claim, e: claim.e + 3600 })).toString('base64url');
    for (const bad of [`/zip/${forged}.${sig}`, `/zip/${body}`, `/zip/${body}.${sig.slice(1)}`, '/zip/x']) {
      expect((await fetch(srv.url + bad)).status).toBe(404);
    }
    await gql(srv.url, 'mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: folderId }, alice.token);
    expect((await fetch(srv.url + url)).status).toBe(404);
  });
});

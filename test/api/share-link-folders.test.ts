import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config';
import { testDatabases } from '../helpers/db';
import { codeOf, gql, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
type Who = { token: string; userId: string; email: string };
const CREATE = 'mutation($f: ID!, $p: String) { createShareLink(fileId: $f, password: $p) { id url hasPassword file { path isFolder } } }';

/** Public links to folders (listing page, each file, a streamed zip) and absolute link URLs. */
describe.each(testDatabases)('public folder links on %s', (db) => {
  let srv: TestServer;
  let alice: Who;
  let folderId: string;
  let tmp: string;
  const files: Record<string, Buffer> = {
    'a.txt': Buffer.from('alpha'),
    'sub/b.bin': crypto.randomBytes(300_000),
    'sub/deeper/ünï côdé.txt': Buffer.from('unicode name'),
  };
  let outsideId: string;

  beforeAll(async () => {
    srv = await startTestServer({ db, config: { linkPasswordMaxFailures: 3 } });
    alice = await signUp(srv.url);
    for (const [p, bytes] of Object.entries(files)) await uploadBytes(srv.url, alice.token, `/pub/${p}`, bytes);
    outsideId = (await uploadBytes(srv.url, alice.token, '/private.txt', Buffer.from('not in the folder'))).id;
    folderId = (await gql(srv.url, '{ fileByPath(path: "/pub") { id } }', {}, alice.token)).data.fileByPath.id;
    tmp = mkdtempSync(join(tmpdir(), 'tessera-zip-'));
  });
  afterAll(async () => {
    await srv?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  const open = (url: string, init: RequestInit = {}) => fetch(url, { redirect: 'manual', ...init });
  const follow = async (res: Response) => {
    expect(res.status).toBe(302);
    return Buffer.from(await (await fetch(new URL(res.headers.get('location')!, srv.url))).arrayBuffer());
  };
  /**
   * Every entry of a zip, by name, read through its central directory (stored entries, the only
   * kind the server writes); each name must be flagged UTF-8 (general purpose bit 11). Info-ZIP's
   * unzip -t checks the whole archive (CRCs, offsets) first.
   */
  const unzip = (zip: Buffer): Record<string, Buffer> => {
    const file = join(tmp, `${crypto.randomUUID()}.zip`);
    writeFileSync(file, zip);
    const tested = spawnSync('unzip', ['-tq', file], { encoding: 'utf8' });
    expect(tested.stdout + tested.stderr).toMatch(/No errors detected/);
    const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    const count = zip.readUInt16LE(eocd + 10);
    let at = zip.readUInt32LE(eocd + 16);
    const out: Record<string, Buffer> = {};
    for (let i = 0; i < count; i++) {
      expect(zip.readUInt32LE(at)).toBe(0x02014b50);
      const flags = zip.readUInt16LE(at + 8);
      const method = zip.readUInt16LE(at + 10);
      const size = zip.readUInt32LE(at + 20);
      const [nameLen, extraLen, commentLen] = [zip.readUInt16LE(at + 28), zip.readUInt16LE(at + 30), zip.readUInt16LE(at + 32)];
      const local = zip.readUInt32LE(at + 42);
      const name = zip.subarray(at + 46, at + 46 + nameLen).toString('utf8');
      if (/[^\x00-\x7f]/.test(name)) expect(flags & 0x800).toBe(0x800);
      expect(method).toBe(0);
      const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      out[name] = zip.subarray(data, data + size);
      at += 46 + nameLen + extraLen + commentLen;
    }
    return out;
  };

  test('a folder link: an absolute URL; a page listing every file, each downloadable; a zip of them all', async () => {
    const link = (await gql(srv.url, CREATE, { f: folderId }, alice.token)).data.createShareLink;
    expect(link.url).toMatch(new RegExp(`^${srv.url}/s/[A-Za-z0-9_-]{43}$`)); // from the request's Host
    expect(link.file).toEqual({ path: '/pub', isFolder: true });

    const page = await open(link.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    const hrefs = [...html.matchAll(/href="([^"]+\/f\/[^"]+)"/g)].map((m) => m[1]);
    expect(hrefs).toHaveLength(3);
    for (const name of Object.keys(files)) expect(html).toContain(name.replace(/&/g, '&#38;'));
    const got = await Promise.all(hrefs.map(async (h) => follow(await open(new URL(h, srv.url).href))));
    expect(got.map(sha).sort()).toEqual(Object.values(files).map(sha).sort());

    // a file outside the folder is not reachable through it
    expect((await open(`${link.url}/f/${outsideId}`)).status).toBe(404);

    const zip = await open(`${link.url}/zip`);
    expect(zip.status).toBe(200);
    expect(zip.headers.get('content-type')).toBe('application/zip');
    expect(zip.headers.get('content-disposition')).toContain('pub.zip');
    const entries = unzip(Buffer.from(await zip.arrayBuffer()));
    expect(Object.keys(entries).sort()).toEqual(Object.keys(files).sort());
    for (const [name, bytes] of Object.entries(files)) expect(sha(entries[name])).toBe(sha(bytes));

    // revoked: the page, its files and the zip are gone
    expect((await gql(srv.url, 'mutation($id: ID!) { revokeShareLink(id: $id) }', { id: link.id }, alice.token)).data.revokeShareLink).toBe(true);
    for (const u of [link.url, `${link.url}/zip`, new URL(hrefs[0], srv.url).href]) expect((await open(u)).status).toBe(404);
  });

  test('a password-protected folder link: 401 without, 403 wrong; the page sends it with each download (never in a URL)', async () => {
    const link = (await gql(srv.url, CREATE, { f: folderId, p: 'open sesame' }, alice.token)).data.createShareLink;
    expect((await open(link.url)).status).toBe(401);
    expect((await open(`${link.url}/zip`)).status).toBe(401);
    expect((await open(`${link.url}/zip`, { headers: { 'x-share-password': 'nope' } })).status).toBe(403);
    const form = (password: string) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `password=${encodeURIComponent(password)}` });
    const page = await open(link.url, form('open sesame'));
    expect(page.status).toBe(200);
    const html = await page.text();
    const actions = [...html.matchAll(/action="([^"]+\/f\/[^"]+)"/g)].map((m) => m[1]);
    expect(actions).toHaveLength(3);
    expect(html).not.toMatch(/href="[^"]*password=/);
    expect((await follow(await open(new URL(actions[0], srv.url).href, form('open sesame')))).length).toBeGreaterThan(0);
    const zip = await open(`${link.url}/zip`, form('open sesame'));
    expect(zip.status).toBe(200);
    expect(Object.keys(unzip(Buffer.from(await zip.arrayBuffer()))).sort()).toEqual(Object.keys(files).sort());
  });

  test('a file link has no listing or zip', async () => {
    const doc = (await gql(srv.url, '{ fileByPath(path: "/pub/a.txt") { id } }', {}, alice.token)).data.fileByPath;
    const link = (await gql(srv.url, CREATE, { f: doc.id }, alice.token)).data.createShareLink;
    expect((await follow(await open(link.url))).toString()).toBe('alpha');
    expect((await open(`${link.url}/zip`)).status).toBe(404);
    expect((await open(`${link.url}/f/${doc.id}`)).status).toBe(404);
  });
});

describe('PUBLIC_URL', () => {
  let srv: TestServer;
  afterAll(async () => { await srv?.stop(); });

  it('is the base of link URLs; a bad one is named at start-up', async () => {
    srv = await startTestServer({ config: { publicUrl: 'https://files.example.com/tessera' } });
    const alice = await signUp(srv.url);
    const doc = await uploadBytes(srv.url, alice.token, '/a.txt', Buffer.from('x'));
    const link = (await gql(srv.url, CREATE, { f: doc.id }, alice.token)).data.createShareLink;
    expect(link.url).toMatch(/^https:\/\/files\.example\.com\/tessera\/s\/[A-Za-z0-9_-]{43}$/);
    expect(loadConfig({ DATA_DIR: tmpdir(), PUBLIC_URL: 'https://files.example.com/' }).publicUrl).toBe('https://files.example.com');
    expect(() => loadConfig({ DATA_DIR: tmpdir(), PUBLIC_URL: 'ftp://x' })).toThrow(/PUBLIC_URL/);
    expect(codeOf(await gql(srv.url, CREATE, { f: 'nope' }, alice.token))).toBe('NOT_FOUND');
  });
});

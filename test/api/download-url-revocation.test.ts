import crypto from 'node:crypto';
import { ConfigError, loadConfig } from '../../src/server/config';
import type { StorageConfig } from '../../src/storage/registry';
import { startGcsStandin } from '../helpers/gcs-standin';
import { testDatabases } from '../helpers/db';
import { codeOf, gql, uploadBytes } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';
import { CountingLogger } from '../helpers/counting-logger';

// Issue 12 item 10: a download URL must not outlive the access it was minted under. On the local
// store the server re-checks that access on every GET (device signed in, share still there, link
// not revoked, file live); on S3/GCS a presigned URL cannot be revoked, so its lifetime is capped
// (DOWNLOAD_URL_MAX_TTL). Every URL below is asked for with a week's expiresIn, as the probe did.

const WEEK = 7 * 24 * 3600;
const PASSWORD = 'correct horse battery';
const URL_OF = 'query($id: ID!, $x: Int) { file(id: $id) { downloadUrl(expiresIn: $x) } }';

interface Who { token: string; userId: string; deviceId: string; email: string }

let n = 0;
async function account(url: string): Promise<Who> {
  const email = `dl${Date.now()}-${n++}@example.com`;
  const r = await gql(url, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p, deviceName: "laptop") { token user { id } device { id } } }', { e: email, p: PASSWORD });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { token: r.data.signUp.token, userId: r.data.signUp.user.id, deviceId: r.data.signUp.device.id, email };
}
async function device(url: string, who: Who, name: string): Promise<Who> {
  const r = await gql(url, 'mutation($e: String!, $p: String!, $d: String) { signIn(email: $e, password: $p, deviceName: $d) { token device { id } } }', { e: who.email, p: PASSWORD, d: name });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return { ...who, token: r.data.signIn.token, deviceId: r.data.signIn.device.id };
}

describe.each(testDatabases)('local-store download URLs die with the access they were minted under (%s)', (db) => {
  const logger = new CountingLogger();
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db, dbLogger: logger }); });
  afterAll(async () => { await srv?.stop(); });

  const q = async (query: string, variables: Record<string, unknown>, who: Who) => {
    const r = await gql(srv.url, query, variables, who.token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data;
  };
  const urlFor = async (who: Who, id: string, expiresIn: number | null = WEEK): Promise<string> => {
    const url = (await q(URL_OF, { id, x: expiresIn }, who)).file.downloadUrl;
    expect(typeof url).toBe('string');
    return url;
  };
  /** GETs a URL: status, bytes, and the error code of a refusal. */
  const get = async (url: string, init: RequestInit = {}) => {
    const res = await fetch(new URL(url, srv.url), init);
    const body = Buffer.from(await res.arrayBuffer());
    let code: string | undefined;
    if (!res.ok && body.length && res.headers.get('content-type')?.includes('json')) code = JSON.parse(body.toString()).code;
    return { status: res.status, body, code };
  };
  const works = async (url: string, bytes: Buffer) => {
    const r = await get(url);
    expect(r.status).toBe(200);
    expect(r.body.equals(bytes)).toBe(true);
  };
  const refused = async (url: string) => {
    const r = await get(url);
    expect({ status: r.status, code: r.code }).toEqual({ status: 403, code: 'ACCESS_DENIED' });
    expect((await get(url, { method: 'HEAD' })).status).toBe(403);
    expect((await get(url, { headers: { range: 'bytes=0-3' } })).status).toBe(403);
  };
  const share = async (owner: Who, fileId: string, to: Who) =>
    (await q('mutation($f: ID!, $e: String!) { shareFile(fileId: $f, email: $e, role: VIEWER) { id } }', { f: fileId, e: to.email }, owner)).shareFile.id as string;

  test("a grantee's URL stops working right after the unshare; the owner's keeps working", async () => {
    const alice = await account(srv.url);
    const bob = await account(srv.url);
    const bytes = crypto.randomBytes(3000);
    const file = await uploadBytes(srv.url, alice.token, '/report.pdf', bytes);
    const shareId = await share(alice, file.id, bob);
    const bobs = await urlFor(bob, file.id);
    const alices = await urlFor(alice, file.id);
    await works(bobs, bytes);
    await works(alices, bytes);

    await q('mutation($s: ID!) { unshare(shareId: $s) }', { s: shareId }, alice);
    await refused(bobs);
    await works(alices, bytes);
    // shared again, a new URL works (the old one too: the access it names holds again)
    await share(alice, file.id, bob);
    await works(await urlFor(bob, file.id), bytes);
    await works(bobs, bytes);
  });

  test("a folder share: the grantee's URL dies when the file leaves the folder or is trashed", async () => {
    const alice = await account(srv.url);
    const bob = await account(srv.url);
    const bytes = crypto.randomBytes(2000);
    const file = await uploadBytes(srv.url, alice.token, '/team/plan.txt', bytes);
    const folder = (await q('query { fileByPath(path: "/team") { id } }', {}, alice)).fileByPath;
    await share(alice, folder.id, bob);
    const bobs = await urlFor(bob, file.id);
    await works(bobs, bytes);
    await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/private/plan.txt") { id } }', { id: file.id }, alice);
    await refused(bobs);
    const alices = await urlFor(alice, file.id);
    await works(alices, bytes);
    // trashed: nobody's URL serves it any more (no URL is handed out for a trashed file either)
    await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: file.id }, alice);
    await refused(alices);
  });

  test("a revoked device's URLs stop working (revokeDevice and signOut); the other devices' keep working", async () => {
    const laptop = await account(srv.url);
    const phone = await device(srv.url, laptop, 'phone');
    const tablet = await device(srv.url, laptop, 'tablet');
    const bytes = crypto.randomBytes(1000);
    const file = await uploadBytes(srv.url, laptop.token, '/notes.txt', bytes);
    const [onLaptop, onPhone, onTablet] = await Promise.all([laptop, phone, tablet].map((d) => urlFor(d, file.id)));
    for (const u of [onLaptop, onPhone, onTablet]) await works(u, bytes);

    expect((await q('mutation($d: ID!) { revokeDevice(id: $d) }', { d: phone.deviceId }, laptop)).revokeDevice).toBe(true);
    await refused(onPhone);
    await works(onTablet, bytes);

    expect((await q('mutation { signOut }', {}, tablet)).signOut).toBe(true);
    await refused(onTablet);
    await works(onLaptop, bytes);
  });

  test("a revoked public link's URLs stop working; the owner's own keep working", async () => {
    const alice = await account(srv.url);
    const bytes = crypto.randomBytes(1500);
    const file = await uploadBytes(srv.url, alice.token, '/public.bin', bytes);
    const CREATE = 'mutation($f: ID!, $x: DateTime) { createShareLink(fileId: $f, expiresAt: $x) { id url } }';
    const link = (await q(CREATE, { f: file.id }, alice)).createShareLink;
    const opened = await fetch(new URL(link.url, srv.url), { redirect: 'manual' });
    expect(opened.status).toBe(302);
    const target = opened.headers.get('location')!;
    await works(target, bytes);

    expect((await q('mutation($id: ID!) { revokeShareLink(id: $id) }', { id: link.id }, alice)).revokeShareLink).toBe(true);
    await refused(target);
    await works(await urlFor(alice, file.id), bytes);
  });

  test("a link's URL never outlives the link's expiry", async () => {
    const alice = await account(srv.url);
    const file = await uploadBytes(srv.url, alice.token, '/soon.bin', crypto.randomBytes(100));
    const CREATE = 'mutation($f: ID!, $x: DateTime) { createShareLink(fileId: $f, expiresAt: $x) { id url } }';
    // a link expiring in 20 s hands out URLs that expire by then, not DOWNLOAD_URL_TTL (300 s) later
    const expiresAt = Date.now() + 20_000;
    const short = (await q(CREATE, { f: file.id, x: new Date(expiresAt).toISOString() }, alice)).createShareLink;
    const redirect = await fetch(new URL(short.url, srv.url), { redirect: 'manual' });
    const exp = Number(new URL(redirect.headers.get('location')!, srv.url).searchParams.get('exp'));
    expect(exp).toBeGreaterThan(Date.now());
    expect(exp).toBeLessThanOrEqual(expiresAt + 1000);
  });

  test('expiresIn above DOWNLOAD_URL_MAX_TTL (1 hour) is clamped to it; below 1 s it is BAD_USER_INPUT; the default is DOWNLOAD_URL_TTL', async () => {
    const alice = await account(srv.url);
    const file = await uploadBytes(srv.url, alice.token, '/ttl.bin', crypto.randomBytes(100));
    const lifetime = async (expiresIn: number | null) => {
      const before = Date.now();
      const exp = Number(new URL(await urlFor(alice, file.id, expiresIn), srv.url).searchParams.get('exp'));
      return { min: (exp - Date.now()) / 1000, max: (exp - before) / 1000 };
    };
    for (const [asked, expected] of [[WEEK, 3600], [2 ** 31 - 1, 3600], [3601, 3600], [3600, 3600], [60, 60], [null, 300]] as const) {
      const { min, max } = await lifetime(asked);
      expect(max).toBeGreaterThanOrEqual(expected - 1);
      expect(min).toBeLessThanOrEqual(expected + 1);
    }
    for (const bad of [0, -5]) {
      const r = await gql(srv.url, URL_OF, { id: file.id, x: bad }, alice.token);
      expect(codeOf(r)).toBe('BAD_USER_INPUT');
      expect(r.data?.file?.downloadUrl ?? null).toBeNull();
    }
    expect(srv.config.downloadUrlMaxTtl).toBe(3600); // the default cap, as the test server runs with it
  });

  test('the grant is part of what is signed: an URL without one, or with another, serves nothing', async () => {
    const alice = await account(srv.url);
    const bob = await account(srv.url);
    const bytes = crypto.randomBytes(500);
    const file = await uploadBytes(srv.url, alice.token, '/signed.bin', bytes);
    const url = new URL(await urlFor(alice, file.id), srv.url);
    await works(url.toString(), bytes);
    // a genuine signature over no grant (as the store alone would mint it)
    const rev = (await q('query($id: ID!) { file(id: $id) { revision } }', { id: file.id }, alice)).file.revision;
    expect(rev).toBe(1);
    const key = url.searchParams.get('key')!;
    const bare = await srv.app.services.storage.presignGet(key, { expiresIn: 60 });
    expect((await get(bare.url)).code).toBe('ACCESS_DENIED');
    // someone else's device put in the grant: the signature no longer matches
    const grant = url.searchParams.get('g') ?? '';
    expect(grant).toContain(alice.deviceId);
    const forged = new URL(url);
    forged.searchParams.set('g', grant.replace(alice.deviceId, bob.deviceId));
    expect((await get(forged.toString())).code).toBe('SIGNATURE_INVALID');
  });

  test("the check costs two lookups for the owner and three for a grantee, whatever the file's depth", async () => {
    const alice = await account(srv.url);
    const bob = await account(srv.url);
    const bytes = crypto.randomBytes(100);
    const file = await uploadBytes(srv.url, alice.token, '/a/b/c/d/e/deep.bin', bytes);
    await share(alice, file.id, bob);
    const counted = async (url: string) => {
      logger.queries = [];
      logger.counting = true;
      await works(url, bytes);
      logger.counting = false;
      return logger.queries.length;
    };
    expect(await counted(await urlFor(alice, file.id))).toBe(2);
    expect(await counted(await urlFor(bob, file.id))).toBe(3);
  });
});

// S3 and GCS presigned URLs cannot be revoked one by one: their lifetime is the cap.
describe.each(['s3', 'gcs'] as const)('on %s the presigned download URL honours DOWNLOAD_URL_MAX_TTL', (store) => {
  let srv: TestServer;
  let cleanup: () => Promise<void> = async () => {};
  beforeAll(async () => {
    const prefix = `dlcap-${crypto.randomBytes(4).toString('hex')}`;
    let storage: StorageConfig;
    if (store === 's3') {
      storage = { kind: 's3', s3: { ...rgwEnv(), prefix } };
      cleanup = () => emptyRgwPrefix(prefix);
    } else {
      const standin = await startGcsStandin();
      storage = { kind: 'gcs', gcs: { bucket: standin.bucket, apiEndpoint: standin.endpoint, credentials: standin.credentials, prefix } };
      cleanup = () => standin.close();
    }
    srv = await startTestServer({ db: 'sqlite', storage, config: { downloadUrlMaxTtl: 900 } });
  });
  afterAll(async () => {
    await srv?.stop();
    await cleanup();
  });

  test('a week is clamped to the cap, less is kept, the default is DOWNLOAD_URL_TTL; the capped URL serves the bytes', async () => {
    const alice = await account(srv.url);
    const bytes = crypto.randomBytes(1234);
    const file = await uploadBytes(srv.url, alice.token, '/cap.bin', bytes);
    const param = store === 's3' ? 'X-Amz-Expires' : 'X-Goog-Expires';
    const expiresOf = async (expiresIn: number | null) => {
      const r = await gql(srv.url, URL_OF, { id: file.id, x: expiresIn }, alice.token);
      expect(r.errors).toBeUndefined();
      return { url: r.data.file.downloadUrl as string, seconds: Number(new URL(r.data.file.downloadUrl).searchParams.get(param)) };
    };
    const week = await expiresOf(WEEK);
    expect(week.seconds).toBe(900);
    expect((await expiresOf(901)).seconds).toBe(900);
    expect((await expiresOf(120)).seconds).toBe(120);
    expect((await expiresOf(null)).seconds).toBe(300);
    const res = await fetch(week.url);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(bytes)).toBe(true);
  });
});

describe('DOWNLOAD_URL_MAX_TTL configuration', () => {
  const env = { DATA_DIR: '/tmp/tessera-cfg-test', JWT_SECRET: 'j', SIGNING_SECRET: 's' };
  const problems = (extra: Record<string, string>) => {
    try {
      loadConfig({ ...env, ...extra });
      return [];
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as ConfigError).problems;
    }
  };

  test('defaults to one hour; at most 7 days; DOWNLOAD_URL_TTL may not exceed it', () => {
    const c = loadConfig(env);
    expect([c.downloadUrlTtl, c.downloadUrlMaxTtl]).toEqual([300, 3600]);
    expect(loadConfig({ ...env, DOWNLOAD_URL_MAX_TTL: '604800', DOWNLOAD_URL_TTL: '7200' }).downloadUrlMaxTtl).toBe(604800);
    expect(problems({ DOWNLOAD_URL_MAX_TTL: '604801' }).join()).toMatch(/DOWNLOAD_URL_MAX_TTL/);
    expect(problems({ DOWNLOAD_URL_MAX_TTL: '0' }).join()).toMatch(/DOWNLOAD_URL_MAX_TTL/);
    expect(problems({ DOWNLOAD_URL_TTL: '7200' }).join()).toMatch(/DOWNLOAD_URL_TTL .*DOWNLOAD_URL_MAX_TTL/);
  });
});

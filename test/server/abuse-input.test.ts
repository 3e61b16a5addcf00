import crypto from 'node:crypto';
import { Device, FileNode, UploadSession, User } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { beginInput, codeOf, gql, prepare, signUp, uploadBytes } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';

// Inputs over the columns' limits are BAD_USER_INPUT and write nothing, on every database
// (MariaDB used to answer INTERNAL after creating the account; SQLite stored anything); media
// types are checked at beginUpload, and a download is never broken by one stored before.

const SIGNUP = 'mutation($e: String!, $p: String!, $n: String, $d: String) { signUp(email: $e, password: $p, name: $n, deviceName: $d) { user { id name } device { name } } }';
const SIGNIN = 'mutation($e: String!, $d: String) { signIn(email: $e, password: "correct horse battery", deviceName: $d) { device { name } } }';
const PASSWORD = 'correct horse battery';
const emoji = (n: number) => '😀'.repeat(n); // 2 UTF-16 units, 1 character, 4 bytes each

describe.each(testDatabases)('length limits on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db }); });
  afterAll(async () => { await srv?.stop(); });
  let n = 0;
  const email = () => `len${Date.now()}-${n++}@example.com`;
  const users = () => srv.app.services.ds.getRepository(User).count();
  const devices = () => srv.app.services.ds.getRepository(Device).count();

  test.each([
    ['deviceName', { d: 'd'.repeat(201) }],
    ['deviceName', { d: emoji(201) }],
    ['deviceName', { d: 'phone\u0000' }],
    ['name', { n: 'n'.repeat(201) }],
    ['name', { n: `bad\r\nname` }],
    ['password', { p: 'p'.repeat(1025) }],
    ['email', { e: `${'e'.repeat(310)}@example.com` }],
  ] as [string, Record<string, string>][])('signUp with a %s over the limit: BAD_USER_INPUT naming it, nothing written', async (field, vars) => {
    const [u0, d0] = [await users(), await devices()];
    const e = vars.e ?? email();
    const r = await gql(srv.url, SIGNUP, { e, p: PASSWORD, ...vars });
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions.field).toBe(field);
    expect(await srv.app.services.ds.getRepository(User).existsBy({ email: e.toLowerCase() })).toBe(false);
    expect([await users(), await devices()]).toEqual([u0, d0]);
  });

  test('names at the limit (200 characters, emoji too) are stored whole', async () => {
    const r = await gql(srv.url, SIGNUP, { e: email(), p: PASSWORD, n: emoji(200), d: 'd'.repeat(200) });
    expect(r.errors).toBeUndefined();
    expect(r.data.signUp.user.name).toBe(emoji(200));
    expect(r.data.signUp.device.name).toBe('d'.repeat(200));
    const stored = await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: r.data.signUp.user.id });
    expect(stored.name).toBe(emoji(200));
  });

  test('signIn with a device name over the limit: BAD_USER_INPUT, no device added', async () => {
    const { email: e } = await signUp(srv.url);
    const d0 = await devices();
    const r = await gql(srv.url, SIGNIN, { e, d: 'd'.repeat(201) });
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(await devices()).toBe(d0);
    expect((await gql(srv.url, SIGNIN, { e, d: 'd'.repeat(200) })).data.signIn.device.name).toBe('d'.repeat(200));
  });
});

const BEGIN = 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id status } }';

describe('media types', () => {
  let srv: TestServer;
  let token: string;
  beforeAll(async () => {
    srv = await startTestServer();
    ({ token } = await signUp(srv.url));
  });
  afterAll(async () => { await srv?.stop(); });
  const sessions = () => srv.app.services.ds.getRepository(UploadSession).count();

  test.each([
    'text/plain\r\nX-Injected: 1',
    'text/plain\n',
    'text/html; charset=utf-8\r\n',
    'text\u0000/plain',
    'textplain',
    '/plain',
    'text/',
    'text/pl ain',
    'text/plain; charset',
    'text/plain; charset="a\rb"',
    `application/${'x'.repeat(300)}`,
    `text/plain; a=${'b'.repeat(250)}`,
  ])('beginUpload with mimeType %j: BAD_USER_INPUT, no session, no file', async (mimeType) => {
    const s0 = await sessions();
    const p = `/mt/${crypto.randomBytes(4).toString('hex')}.txt`;
    const r = await gql(srv.url, BEGIN, { i: beginInput(p, prepare(Buffer.from('hello'), 8 * 1024 * 1024), { mimeType }) }, token);
    expect(codeOf(r)).toBe('BAD_USER_INPUT');
    expect(r.errors![0].extensions.field).toBe('mimeType');
    expect(await sessions()).toBe(s0);
    expect((await gql(srv.url, 'query($p: String!) { fileByPath(path: $p) { id } }', { p }, token)).data.fileByPath).toBeNull();
  });

  test.each([
    'text/plain',
    'text/plain; charset=utf-8',
    'text/plain;charset="utf-8"',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'image/svg+xml',
    'multipart/form-data; boundary="a b; c"',
  ])('%j is accepted', async (mimeType) => {
    const f = prepare(Buffer.from(`content of ${mimeType}`), 8 * 1024 * 1024);
    const p = `/ok/${crypto.randomBytes(4).toString('hex')}`;
    const r = await gql(srv.url, BEGIN, { i: beginInput(p, f, { mimeType }) }, token);
    expect(r.errors).toBeUndefined();
    await srv.app.services.ds.getRepository(UploadSession).delete({ id: r.data.beginUpload.id });
  });

  test('downloads send the type and X-Content-Type-Options: nosniff; a bad type stored before the check does not break them', async () => {
    const file = await uploadBytes(srv.url, token, '/page.html', Buffer.from('<script>alert(1)</script>'));
    await srv.app.services.ds.getRepository(FileNode).update({ id: file.id }, { mimeType: 'text/html; charset=utf-8' });
    const url = async () => new URL((await gql(srv.url, 'query($id: ID!) { file(id: $id) { downloadUrl } }', { id: file.id }, token)).data.file.downloadUrl, srv.url);
    let res = await fetch(await url());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment/);
    // planted before beginUpload checked types (or written by hand): served as bytes, not a 500
    await srv.app.services.ds.getRepository(FileNode).update({ id: file.id }, { mimeType: 'text/plain\r\nSet-Cookie: x=1' });
    res = await fetch(await url());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('set-cookie')).toBeNull();
    expect(await res.text()).toBe('<script>alert(1)</script>');
  });
});

describe('media types on S3 (RGW)', () => {
  let srv: TestServer;
  let token: string;
  const prefix = `abuse-mt-${crypto.randomBytes(4).toString('hex')}`;
  beforeAll(async () => {
    srv = await startTestServer({ storage: { kind: 's3', s3: { ...rgwEnv(), prefix } } });
    ({ token } = await signUp(srv.url));
  });
  afterAll(async () => {
    await srv?.stop();
    await emptyRgwPrefix(prefix);
  });

  test('the presigned GET answers the checked type; a bad stored type is answered as application/octet-stream', async () => {
    const f = prepare(Buffer.from('plain text'), 8 * 1024 * 1024);
    const begun = await gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id parts { url method headers { name value } } } }`,
      { i: beginInput('/t.txt', f, { mimeType: 'text/plain; charset=utf-8' }) }, token);
    expect(begun.errors).toBeUndefined();
    const file = await uploadBytes(srv.url, token, '/t2.txt', Buffer.from('plain text two'));
    await srv.app.services.ds.getRepository(FileNode).update({ id: file.id }, { mimeType: 'text/plain; charset=utf-8' });
    const get = async () => fetch((await gql(srv.url, 'query($id: ID!) { file(id: $id) { downloadUrl } }', { id: file.id }, token)).data.file.downloadUrl);
    let res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    await srv.app.services.ds.getRepository(FileNode).update({ id: file.id }, { mimeType: 'text/plain\r\nX-Evil: 1' });
    res = await get();
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('x-evil')).toBeNull();
    expect(await res.text()).toBe('plain text two');
  });
});

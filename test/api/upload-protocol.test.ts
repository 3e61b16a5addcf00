import crypto from 'node:crypto';
import { UploadSession } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare, putPart, sha256, signUp, uploadBytes } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const MiB = 1024 * 1024;
const BEGIN = `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`;
const COMPLETE = 'mutation($s: ID!) { completeUpload(sessionId: $s) { id path size revision contentHash status } }';

describe.each(testDatabases)('upload protocol on %s (local store)', (db) => {
  let srv: TestServer;
  let alice: { token: string; userId: string };
  let bob: { token: string; userId: string };
  beforeAll(async () => {
    srv = await startTestServer({ db });
    alice = await signUp(srv.url);
    bob = await signUp(srv.url);
  });
  afterAll(async () => { await srv?.stop(); });

  const q = (query: string, variables: Record<string, unknown> = {}, token = alice.token) => gql(srv.url, query, variables, token);

  test('a 3-part upload (last part short) downloads byte-identical, whole and ranged', async () => {
    const bytes = crypto.randomBytes(2 * 8 * MiB + 1234567);
    const file = await uploadBytes(srv.url, alice.token, '/docs/big.bin', bytes);
    expect(file).toMatchObject({ path: '/docs/big.bin', size: String(bytes.length), revision: 1, status: 'AVAILABLE' });
    const r = await q('query($id: ID!) { file(id: $id) { downloadUrl chunks { index offset size sha256 status } owner { id } } }', { id: file.id });
    const f = r.data.file;
    expect(f.owner.id).toBe(alice.userId);
    expect(f.chunks).toHaveLength(3);
    expect(f.chunks[2].size).toBe(String(1234567));
    expect(f.chunks.every((c: any) => c.status === 'VERIFIED')).toBe(true);
    const url = new URL(f.downloadUrl, srv.url);
    const whole = Buffer.from(await (await fetch(url)).arrayBuffer());
    expect(sha256(whole)).toBe(sha256(bytes));
    const ranged = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(ranged.status).toBe(206);
    expect(Buffer.from(await ranged.arrayBuffer()).equals(bytes.subarray(100, 200))).toBe(true);
    expect((await fetch(url)).headers.get('content-disposition')).toContain('big.bin');
    const parent = await q('{ listFolder(path: "/docs") { edges { node { name isFolder } } } }');
    expect(parent.data.listFolder.edges.map((e: any) => e.node.name)).toEqual(['big.bin']);
  });

  test('completeUpload is idempotent; a new upload to the same path is a new revision; same content again is instant', async () => {
    const v1 = crypto.randomBytes(1000);
    const f1 = await uploadBytes(srv.url, alice.token, '/rev.txt', v1);
    const v2 = crypto.randomBytes(2000);
    const f2 = await uploadBytes(srv.url, alice.token, '/rev.txt', v2);
    expect(f2.id).toBe(f1.id);
    expect(f2.revision).toBe(2);
    const prep = prepare(v1, 8 * MiB);
    const again = await q(BEGIN, { i: beginInput('/copy-of-rev.txt', prep) });
    expect(again.data.beginUpload.status).toBe('COMPLETED');
    expect(again.data.beginUpload.file).toMatchObject({ path: '/copy-of-rev.txt', contentHash: prep.contentHash });
    const [a, b] = await Promise.all([1, 2].map(async (n) => {
      const p = prepare(crypto.randomBytes(10), 8 * MiB);
      const s = (await q(BEGIN, { i: beginInput(`/idem-${n}.txt`, p) })).data.beginUpload;
      const res = await putPart(srv.url, s.parts[0], p.parts[0].bytes);
      expect(res.status).toBe(200);
      const c1 = await q(COMPLETE, { s: s.id });
      const c2 = await q(COMPLETE, { s: s.id });
      return [c1.data.completeUpload, c2.data.completeUpload];
    }));
    expect(a[0]).toEqual(a[1]);
    expect(b[0]).toEqual(b[1]);
  });

  test('beginUpload resumes the same session and reports uploaded parts', async () => {
    const p = prepare(crypto.randomBytes(8 * MiB + 10), 8 * MiB);
    const s1 = (await q(BEGIN, { i: beginInput('/resume.bin', p) })).data.beginUpload;
    expect((await putPart(srv.url, s1.parts[0], p.parts[0].bytes)).status).toBe(200);
    const s2 = (await q(BEGIN, { i: beginInput('/resume.bin', p) })).data.beginUpload;
    expect(s2.id).toBe(s1.id);
    expect(s2.parts[0].status).toBe('UPLOADED');
    expect(s2.parts[1].status).toBe('PENDING');
    const missing = await q(COMPLETE, { s: s1.id });
    expect(codeOf(missing)).toBe('PRECONDITION_FAILED');
    expect(missing.errors![0].extensions.missingParts).toEqual([2]);
  });

  test('completeUpload confirms the ETags it is given: a wrong one is refused, the right ones complete without confirmParts', async () => {
    const WITH_PARTS = 'mutation($s: ID!, $p: [ConfirmPartInput!]) { completeUpload(sessionId: $s, parts: $p) { id size chunks { index etag status } } }';
    const p = prepare(crypto.randomBytes(8 * MiB + 10), 8 * MiB);
    const s = (await q(BEGIN, { i: beginInput('/complete-with-parts.bin', p) })).data.beginUpload;
    const etags = await Promise.all(s.parts.map(async (part: any, i: number) => {
      const res = await putPart(srv.url, part, p.parts[i].bytes);
      expect(res.status).toBe(200);
      return res.headers.get('etag')!.replace(/"/g, '');
    }));
    const wrong = await q(WITH_PARTS, { s: s.id, p: [{ partNumber: 1, etag: etags[0] }, { partNumber: 2, etag: 'f'.repeat(32) }] });
    expect(codeOf(wrong)).toBe('PRECONDITION_FAILED');
    expect(wrong.errors![0].extensions.missingParts).toEqual([2]);
    expect(codeOf(await q(WITH_PARTS, { s: s.id, p: [{ partNumber: 3, etag: etags[0] }] }))).toBe('BAD_USER_INPUT');
    const done = await q(WITH_PARTS, { s: s.id, p: etags.map((etag, i) => ({ partNumber: i + 1, etag: `"${etag}"` })) });
    expect(done.errors).toBeUndefined();
    expect(done.data.completeUpload.size).toBe(String(8 * MiB + 10));
    expect(done.data.completeUpload.chunks.map((c: any) => [c.etag, c.status])).toEqual(etags.map((e) => [e, 'VERIFIED']));
  });

  test('a session whose upload the store no longer knows is replaced by a fresh one, not stuck', async () => {
    const p = prepare(crypto.randomBytes(300), 8 * MiB);
    const s1 = (await q(BEGIN, { i: beginInput('/forgotten.bin', p) })).data.beginUpload;
    const row = await srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: s1.id });
    await srv.app.services.storage.abortMultipartUpload(row.storageKey, row.storageUploadId!);
    const s2 = (await q(BEGIN, { i: beginInput('/forgotten.bin', p) })).data.beginUpload;
    expect(s2.id).not.toBe(s1.id);
    expect(s2.status).toBe('ACTIVE');
    expect((await putPart(srv.url, s2.parts[0], p.parts[0].bytes)).status).toBe(200);
    expect((await q(COMPLETE, { s: s2.id })).data.completeUpload.size).toBe('300');
    expect((await srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: s1.id })).status).toBe('EXPIRED');
  });

  test('a part whose bytes do not match its hash is refused with 400 and never stored', async () => {
    const p = prepare(crypto.randomBytes(100), 8 * MiB);
    const s = (await q(BEGIN, { i: beginInput('/corrupt.bin', p) })).data.beginUpload;
    const bad = Buffer.from(p.parts[0].bytes);
    bad[0] ^= 0xff;
    expect((await putPart(srv.url, s.parts[0], bad)).status).toBe(400);
    const again = (await q('query($id: ID!) { uploadSession(id: $id) { parts { status } } }', { id: s.id })).data.uploadSession;
    expect(again.parts[0].status).toBe('PENDING');
    expect(codeOf(await q(COMPLETE, { s: s.id }))).toBe('PRECONDITION_FAILED');
  });

  test('forged and expired part URLs get 403 from the blob route', async () => {
    const p = prepare(crypto.randomBytes(100), 8 * MiB);
    const s = (await q(BEGIN, { i: beginInput('/forged.bin', p) })).data.beginUpload;
    const forged = { ...s.parts[0], url: s.parts[0].url.replace(/sig=[^&]+/, 'sig=' + 'a'.repeat(64)) };
    expect(forged.url).not.toBe(s.parts[0].url);
    expect((await putPart(srv.url, forged, p.parts[0].bytes)).status).toBe(403);
    const expired = new URL(s.parts[0].url, srv.url);
    const exp = [...expired.searchParams.keys()].find((k) => /exp/i.test(k));
    expect(exp).toBeDefined();
    expired.searchParams.set(exp!, String(Math.floor(Date.now() / 1000) - 10));
    expect((await putPart(srv.url, { ...s.parts[0], url: expired.toString() }, p.parts[0].bytes)).status).toBe(403);
  });

  test('move, delete, and a path reused after delete', async () => {
    const f = await uploadBytes(srv.url, alice.token, '/a/b/c.txt', Buffer.from('hello'));
    const moved = await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/x/y.txt") { path name } }', { id: f.id });
    expect(moved.data.moveFile).toEqual({ path: '/x/y.txt', name: 'y.txt' });
    expect((await q('{ fileByPath(path: "/a/b/c.txt") { id } }')).data.fileByPath).toBeNull();
    const folder = (await q('{ fileByPath(path: "/a") { id } }')).data.fileByPath;
    const mf = await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/z") { path } }', { id: folder.id });
    expect(mf.data.moveFile.path).toBe('/z');
    expect((await q('{ fileByPath(path: "/z/b") { isFolder } }')).data.fileByPath.isFolder).toBe(true);
    const other = await uploadBytes(srv.url, alice.token, '/x/other.txt', Buffer.from('o'));
    expect(codeOf(await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/x/y.txt") { path } }', { id: other.id }))).toBe('CONFLICT');
    const del = await q('mutation($id: ID!) { deleteFile(id: $id) { status deletedAt } }', { id: f.id });
    expect(del.data.deleteFile.status).toBe('DELETED');
    expect((await q('{ fileByPath(path: "/x/y.txt") { id } }')).data.fileByPath).toBeNull();
    const reused = await uploadBytes(srv.url, alice.token, '/x/y.txt', Buffer.from('new'));
    expect(reused.id).not.toBe(f.id);
  });

  test('paths are byte-exact: A.txt, a.txt and "a.txt " are three files', async () => {
    for (const name of ['A.txt', 'a.txt', 'a.txt ']) await uploadBytes(srv.url, alice.token, `/case/${name}`, Buffer.from(name));
    const names = (await q('{ listFolder(path: "/case") { edges { node { name size } } } }')).data.listFolder.edges.map((e: any) => e.node.name);
    expect(names.sort()).toEqual(['A.txt', 'a.txt', 'a.txt '].sort());
  });

  test('listFolder pages with a Relay cursor', async () => {
    for (let i = 0; i < 5; i++) await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p: `/pages/f${i}` });
    const seen: string[] = [];
    let after: string | null = null;
    for (;;) {
      const r: any = await q('query($a: String) { listFolder(path: "/pages", first: 2, after: $a) { edges { cursor node { name } } pageInfo { hasNextPage endCursor } } }', { a: after });
      seen.push(...r.data.listFolder.edges.map((e: any) => e.node.name));
      if (!r.data.listFolder.pageInfo.hasNextPage) break;
      after = r.data.listFolder.pageInfo.endCursor;
    }
    expect(seen).toEqual(['f0', 'f1', 'f2', 'f3', 'f4']);
  });

  describe('bad input: a coded error and nothing written', () => {
    const good = () => prepare(crypto.randomBytes(8 * MiB + 5), 8 * MiB);

    test('unauthenticated', async () => {
      expect(codeOf(await gql(srv.url, '{ me { id } }'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await gql(srv.url, '{ listFolder(path: "/") { edges { cursor } } }', {}, 'not-a-token'))).toBe('UNAUTHENTICATED');
      expect(codeOf(await gql(srv.url, BEGIN, { i: beginInput('/x', good()) }))).toBe('UNAUTHENTICATED');
    });

    test.each([['/a/../b'], ['/a//b'], ['relative'], ['/a\u0000b'], ['/a\nb'], ['/' + 'x'.repeat(256)], ['/./a']])('path %j', async (path) => {
      expect(codeOf(await q('mutation($p: String!) { createFolder(path: $p) { id } }', { p: path }))).toBe('BAD_USER_INPUT');
      expect(codeOf(await q(BEGIN, { i: beginInput(path, good()) }))).toBe('BAD_USER_INPUT');
    });

    test('negative, fractional and absurd sizes', async () => {
      for (const s of ['-1', '1.5', '99999999999999999999999', 'abc']) {
        expect(codeOf(await q('query($s: BigInt!) { uploadPlan(size: $s) { partSize } }', { s }))).toBe('BAD_USER_INPUT');
      }
      expect(codeOf(await q('query($s: BigInt!) { uploadPlan(size: $s) { partSize } }', { s: String(2 ** 50) }))).toMatch(/BAD_USER_INPUT|PAYLOAD_TOO_LARGE/);
    });

    test('parts that do not tile the file, break the plan, or a wrong contentHash', async () => {
      const f = good();
      const input = beginInput('/bad-parts.bin', f);
      const variants = [
        { ...input, parts: input.parts.slice(0, 1) },
        { ...input, parts: [input.parts[0], { ...input.parts[1], size: '4' }] },
        { ...input, parts: [input.parts[0], { ...input.parts[1], partNumber: 3 }] },
        { ...input, parts: [input.parts[0], input.parts[0]] },
        { ...input, contentHash: 'f'.repeat(64) },
        { ...input, parts: [input.parts[0], { ...input.parts[1], sha256: 'XYZ' }] },
        { ...input, size: String(f.bytes.length + 1) },
      ];
      for (const v of variants) expect(codeOf(await q(BEGIN, { i: v }))).toBe('BAD_USER_INPUT');
      expect((await q('{ fileByPath(path: "/bad-parts.bin") { id } }')).data.fileByPath).toBeNull();
    });

    test("another user's upload session is NOT_FOUND", async () => {
      const p = prepare(crypto.randomBytes(10), 8 * MiB);
      const s = (await q(BEGIN, { i: beginInput('/mine.bin', p) })).data.beginUpload;
      expect(codeOf(await q(COMPLETE, { s: s.id }, bob.token))).toBe('NOT_FOUND');
      expect(codeOf(await q('mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: s.id }, bob.token))).toBe('NOT_FOUND');
      expect((await q('query($s: ID!) { uploadSession(id: $s) { id } }', { s: s.id }, bob.token)).data.uploadSession).toBeNull();
      expect((await q('mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: s.id })).data.abortUpload).toBe(true);
      expect(codeOf(await q(COMPLETE, { s: s.id }))).toBe('PRECONDITION_FAILED');
    });

    test("another user's file is NOT_FOUND, never FORBIDDEN, and knowing its hash gives no instant upload", async () => {
      const f = await uploadBytes(srv.url, alice.token, '/private.txt', Buffer.from('secret'));
      expect((await q('query($id: ID!) { file(id: $id) { id } }', { id: f.id }, bob.token)).data.file).toBeNull();
      expect(codeOf(await q('mutation($id: ID!) { deleteFile(id: $id) { id } }', { id: f.id }, bob.token))).toBe('NOT_FOUND');
      expect(codeOf(await q('mutation($id: ID!) { moveFile(id: $id, toPath: "/stolen") { id } }', { id: f.id }, bob.token))).toBe('NOT_FOUND');
      const sameContent = await q(BEGIN, { i: beginInput('/guess.txt', prepare(Buffer.from('secret'), 8 * MiB)) }, bob.token);
      expect(sameContent.data.beginUpload.status).toBe('ACTIVE');
      expect(sameContent.data.beginUpload.file).toBeNull();
    });

    test('a subscription sent over HTTP is refused', async () => {
      expect(codeOf(await q('subscription { changes { cursor } }'))).toBe('BAD_USER_INPUT');
    });
  });
});

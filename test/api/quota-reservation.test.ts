import crypto from 'node:crypto';
import { UploadSession, User } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare, putPart, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { treeViolations } from '../helpers/tree-invariants';
import { treeOps } from '../helpers/tree-ops';

// Issue 12, item 3: beginUpload reserves quota under the owner lock, so concurrent uploads
// cannot overshoot it; abort, expiry and completion release the reservation.
const QUOTA = 1024 * 1024;
const SIZE = 600 * 1024;

describe.each(testDatabases)('quota reservations on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db, config: { defaultQuotaBytes: QUOTA } }); });
  afterAll(async () => { await srv?.stop(); });

  const user = (id: string) => srv.app.services.ds.getRepository(User).findOneByOrFail({ id });
  const begin = (token: string, path: string, bytes: Buffer) =>
    gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(path, prepare(bytes, 8 * 1024 * 1024)) }, token);
  const expectInvariants = async (userId: string) => expect(await treeViolations(srv.app.services.ds, [userId])).toEqual([]);

  test('four concurrent 600 KB uploads under a 1 MiB quota: one is reserved, three are PAYLOAD_TOO_LARGE at beginUpload', async () => {
    const { token, userId } = await signUp(srv.url);
    const files = [0, 1, 2, 3].map(() => crypto.randomBytes(SIZE));
    const begun = await Promise.all(files.map((b, i) => begin(token, `/big${i}.bin`, b)));
    const accepted = begun.filter((r) => !r.errors);
    expect(accepted.length).toBe(1);
    expect(begun.filter((r) => codeOf(r) === 'PAYLOAD_TOO_LARGE').length).toBe(3);
    expect((await user(userId)).reservedBytes).toBe(SIZE);
    await expectInvariants(userId);

    // the accepted one completes; its reservation becomes usage
    const i = begun.indexOf(accepted[0]);
    const session = accepted[0].data.beginUpload;
    const part = prepare(files[i], 8 * 1024 * 1024).parts[0];
    const put = await putPart(srv.url, session.parts[0], part.bytes);
    expect(put.ok).toBe(true);
    const done = await gql(srv.url, 'mutation($s: ID!, $p: [ConfirmPartInput!]) { completeUpload(sessionId: $s, parts: $p) { id size } }',
      { s: session.id, p: [{ partNumber: 1, etag: put.headers.get('etag') }] }, token);
    expect(done.errors).toBeUndefined();
    const after = await user(userId);
    expect([after.usedBytes, after.reservedBytes]).toEqual([SIZE, 0]);
    // and the quota is now full for another 600 KB
    expect(codeOf(await begin(token, '/more.bin', crypto.randomBytes(SIZE)))).toBe('PAYLOAD_TOO_LARGE');
    await expectInvariants(userId);
  });

  test('replacing a file reserves only the growth; trashing frees usage, restoring takes it back', async () => {
    const { token, userId } = await signUp(srv.url);
    const ops = treeOps(srv.url, token);
    const first = await ops.upload('/r.bin', crypto.randomBytes(SIZE));
    if (!first.ok) throw new Error(first.code);
    // 700 KB over a 600 KB file: 100 KB more, which fits
    const r = await begin(token, '/r.bin', crypto.randomBytes(700 * 1024));
    expect(r.errors).toBeUndefined();
    expect((await user(userId)).reservedBytes).toBe(100 * 1024);
    await gql(srv.url, 'mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: r.data.beginUpload.id }, token);
    expect((await ops.delete(first.node.id)).ok).toBe(true);
    expect((await user(userId)).usedBytes).toBe(0);
    expect((await ops.restore(first.node.id)).ok).toBe(true);
    expect((await user(userId)).usedBytes).toBe(SIZE);
    await expectInvariants(userId);
  });

  test('abortUpload releases the reservation', async () => {
    const { token, userId } = await signUp(srv.url);
    const r = await begin(token, '/a.bin', crypto.randomBytes(SIZE));
    expect(r.errors).toBeUndefined();
    expect(codeOf(await begin(token, '/b.bin', crypto.randomBytes(SIZE)))).toBe('PAYLOAD_TOO_LARGE');
    const aborted = await gql(srv.url, 'mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: r.data.beginUpload.id }, token);
    expect(aborted.data.abortUpload).toBe(true);
    expect((await user(userId)).reservedBytes).toBe(0);
    expect((await begin(token, '/b.bin', crypto.randomBytes(SIZE))).errors).toBeUndefined();
    await expectInvariants(userId);
  });

  test("the janitor's expiry releases the reservation", async () => {
    const { token, userId } = await signUp(srv.url);
    const r = await begin(token, '/e.bin', crypto.randomBytes(SIZE));
    expect(r.errors).toBeUndefined();
    expect(codeOf(await begin(token, '/f.bin', crypto.randomBytes(SIZE)))).toBe('PAYLOAD_TOO_LARGE');
    await srv.app.services.ds.getRepository(UploadSession).update({ id: r.data.beginUpload.id }, { expiresAt: new Date(Date.now() - 1000) });
    expect((await srv.app.services.janitor.run()).expiredSessions).toBeGreaterThanOrEqual(1);
    expect((await srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: r.data.beginUpload.id })).status).toBe('EXPIRED');
    expect((await user(userId)).reservedBytes).toBe(0);
    expect((await begin(token, '/f.bin', crypto.randomBytes(SIZE))).errors).toBeUndefined();
    await expectInvariants(userId);
  });
});

import crypto from 'node:crypto';
import { Change, UploadSession, User } from '../../src/entities';
import { testDatabases } from '../helpers/db';
import { SESSION_FIELDS, beginInput, gql, prepare, putPart, sha256, signUp, type GqlResult, type PreparedFile } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';
import { UploadGates } from '../helpers/upload-gates';
import type { UploadHookPoint } from '../../src/services/session-locks';

// A completion racing a resume, a refresh of part URLs, an abort or a second completion of the
// same upload session. Each interleaving is forced with the service's hooks (no sleeps): the
// first call is stopped at a point, the second is sent, and the first goes on once the second
// has either finished or is seen waiting for the session lock. Nothing may answer INTERNAL,
// and what is stored must be what the answers say.

const MiB = 1024 * 1024;
const BEGIN = `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`;
const COMPLETE = 'mutation($s: ID!, $p: [ConfirmPartInput!]) { completeUpload(sessionId: $s, parts: $p) { id path size revision contentHash } }';
const COMPLETE_MANY = 'mutation($u: [CompleteUploadInput!]!) { completeUploads(uploads: $u) { index file { id path size revision contentHash } error { code message } } }';
const REFRESH = 'mutation($s: ID!, $n: [Int!]!) { refreshPartUrls(sessionId: $s, partNumbers: $n) { partNumber url } }';
const CONFIRM = 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id } }';
const ABORT = 'mutation($s: ID!) { abortUpload(sessionId: $s) }';

const stores = ['local', 's3'] as const;
const cases = testDatabases.flatMap((db) => stores.map((store) => [db, store] as const));

describe.each(cases)('upload session races on %s, %s store', (db, store) => {
  let srv: TestServer;
  let user: { token: string; userId: string };
  const gates = new UploadGates();
  const prefix = `test-session-races-${crypto.randomBytes(4).toString('hex')}/`;
  beforeAll(async () => {
    const storage = store === 's3' ? { kind: 's3' as const, s3: { ...rgwEnv(), prefix } } : undefined;
    srv = await startTestServer({ db, storage });
    srv.app.services.uploads.hooks = gates;
    user = await signUp(srv.url);
  }, 120_000);
  afterAll(async () => {
    await srv?.stop();
    if (store === 's3') await emptyRgwPrefix(prefix);
  });
  afterEach(() => gates.clear());

  const q = (query: string, variables: Record<string, unknown>) => gql(srv.url, query, variables, user.token);
  const codeOf = (r: GqlResult) => r.errors?.[0]?.extensions.code;
  const reasonOf = (r: GqlResult) => r.errors?.[0]?.extensions.reason;
  const session = (id: string) => srv.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id });

  /**
   * A 2-part upload with both parts in the store, part 1 confirmed and part 2 not (its ETag
   * goes with completeUpload, as the SDK sends its last batch): a resume then presigns part 2.
   */
  async function staged(path: string): Promise<{ id: string; f: PreparedFile; last: { partNumber: number; etag: string }[] }> {
    const f = prepare(crypto.randomBytes(8 * MiB + 1000), 8 * MiB);
    const begun = await q(BEGIN, { i: beginInput(path, f) });
    expect(begun.errors).toBeUndefined();
    const s = begun.data.beginUpload;
    const etags = [];
    for (const p of s.parts) {
      const res = await putPart(srv.url, p, f.parts[p.partNumber - 1].bytes);
      expect(res.status).toBe(200);
      etags.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    expect((await q(CONFIRM, { s: s.id, p: [etags[0]] })).errors).toBeUndefined();
    return { id: s.id, f, last: [etags[1]] };
  }

  /**
   * Runs `first` until it reaches `point`, then sends `second`; lets `first` go on once
   * `second` has finished or waits for the session lock. Returns both answers.
   */
  async function race(point: UploadHookPoint, first: () => Promise<GqlResult>, second: () => Promise<GqlResult>): Promise<[GqlResult, GqlResult]> {
    const gate = gates.hold(point);
    const a = first();
    await gate.reached;
    const b = second();
    await Promise.race([b, gates.seen('lock:wait')]);
    gate.release();
    return [await a, await b];
  }

  /** The file at `path` is stored with exactly `f`'s bytes, and nothing is left reserved. */
  async function expectStored(path: string, f: PreparedFile) {
    const r = await q('query($p: String!) { fileByPath(path: $p) { contentHash downloadUrl revision } }', { p: path });
    expect(r.data.fileByPath).toMatchObject({ contentHash: f.contentHash, revision: 1 });
    const bytes = Buffer.from(await (await fetch(new URL(r.data.fileByPath.downloadUrl, srv.url))).arrayBuffer());
    expect(sha256(bytes)).toBe(sha256(f.bytes));
    expect((await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: user.userId })).reservedBytes).toBe(0);
    const created = await srv.app.services.ds.getRepository(Change).count({ where: { namespaceId: user.userId, path, kind: 'CREATED' } });
    expect(created).toBe(1);
  }

  test('refreshPartUrls first, completeUpload meanwhile: the URLs come, then the upload completes', async () => {
    const { id, f, last } = await staged('/r1.bin');
    const [refresh, complete] = await race('presign', () => q(REFRESH, { s: id, n: [2] }), () => q(COMPLETE, { s: id, p: last }));
    expect(refresh.errors).toBeUndefined();
    expect(refresh.data.refreshPartUrls[0].url).toBeTruthy();
    expect(complete.errors).toBeUndefined();
    await expectStored('/r1.bin', f);
  });

  test('completeUpload first, refreshPartUrls meanwhile: UPLOAD_COMPLETED, never INTERNAL', async () => {
    const { id, f, last } = await staged('/r2.bin');
    const [complete, refresh] = await race('complete:assembled', () => q(COMPLETE, { s: id, p: last }), () => q(REFRESH, { s: id, n: [2] }));
    expect(complete.errors).toBeUndefined();
    expect(codeOf(refresh)).toBe('PRECONDITION_FAILED');
    expect(reasonOf(refresh)).toBe('UPLOAD_COMPLETED');
    expect(refresh.errors![0].extensions.fileId).toBe(complete.data.completeUpload.id);
    await expectStored('/r2.bin', f);
  });

  test('completeUploads (batch) first, refreshPartUrls meanwhile: UPLOAD_COMPLETED, never INTERNAL', async () => {
    const { id, f, last } = await staged('/r3.bin');
    const [batch, refresh] = await race('complete:assembled', () => q(COMPLETE_MANY, { u: [{ sessionId: id, parts: last }] }), () => q(REFRESH, { s: id, n: [2] }));
    expect(batch.errors).toBeUndefined();
    expect(batch.data.completeUploads[0].error).toBeNull();
    expect(reasonOf(refresh)).toBe('UPLOAD_COMPLETED');
    await expectStored('/r3.bin', f);
  });

  test('completeUploads (batch) of a one-part file first, refreshPartUrls meanwhile: UPLOAD_COMPLETED (a one-PUT session on S3)', async () => {
    const f = prepare(crypto.randomBytes(1000), 8 * MiB);
    const s = (await q(BEGIN, { i: beginInput('/small.bin', f) })).data.beginUpload;
    const res = await putPart(srv.url, s.parts[0], f.parts[0].bytes);
    expect(res.status).toBe(200);
    const last = [{ partNumber: 1, etag: res.headers.get('etag')! }];
    const [batch, refresh] = await race('complete:assembled', () => q(COMPLETE_MANY, { u: [{ sessionId: s.id, parts: last }] }), () => q(REFRESH, { s: s.id, n: [1] }));
    expect(batch.data.completeUploads[0].error).toBeNull();
    expect(reasonOf(refresh)).toBe('UPLOAD_COMPLETED');
    await expectStored('/small.bin', f);
  });

  test('a resume (beginUpload again) that has listed the store, completeUpload meanwhile: never INTERNAL', async () => {
    const { id, f, last } = await staged('/r4.bin');
    const [resume, complete] = await race('resume:listed', () => q(BEGIN, { i: beginInput('/r4.bin', f) }), () => q(COMPLETE, { s: id, p: last }));
    expect(complete.errors).toBeUndefined();
    // the resume answered before the completion: its session (URLs for what it lacks), or the
    // completion got in between its answer and its URLs: UPLOAD_COMPLETED
    if (resume.errors) {
      expect(codeOf(resume)).toBe('PRECONDITION_FAILED');
      expect(reasonOf(resume)).toBe('UPLOAD_COMPLETED');
    } else expect(resume.data.beginUpload.id).toBe(id);
    await expectStored('/r4.bin', f);
    // and a resume now learns the file is stored
    const again = await q(BEGIN, { i: beginInput('/r4.bin', f) });
    expect(again.data.beginUpload).toMatchObject({ status: 'COMPLETED', file: { contentHash: f.contentHash } });
  });

  test('completeUpload first, a resume meanwhile: the resume answers the completed file', async () => {
    const { id, f, last } = await staged('/r5.bin');
    const [complete, resume] = await race('complete:assembled', () => q(COMPLETE, { s: id, p: last }), () => q(BEGIN, { i: beginInput('/r5.bin', f) }));
    expect(complete.errors).toBeUndefined();
    expect(resume.errors).toBeUndefined();
    expect(resume.data.beginUpload).toMatchObject({ status: 'COMPLETED', file: { id: complete.data.completeUpload.id } });
    await expectStored('/r5.bin', f);
  });

  test('completeUpload first, abortUpload meanwhile: the file is stored and the abort is refused (UPLOAD_COMPLETED)', async () => {
    const { id, f, last } = await staged('/r6.bin');
    const [complete, abort] = await race('complete:assembled', () => q(COMPLETE, { s: id, p: last }), () => q(ABORT, { s: id }));
    expect(complete.errors).toBeUndefined();
    expect(codeOf(abort)).toBe('PRECONDITION_FAILED');
    expect(reasonOf(abort)).toBe('UPLOAD_COMPLETED');
    expect((await session(id)).status).toBe('COMPLETED');
    await expectStored('/r6.bin', f);
  });

  test('abortUpload first, completeUpload meanwhile: aborted, nothing stored, the completion refused (UPLOAD_ENDED)', async () => {
    const { id, last } = await staged('/r7.bin');
    const [abort, complete] = await race('abort:store', () => q(ABORT, { s: id }), () => q(COMPLETE, { s: id, p: last }));
    expect(abort.errors).toBeUndefined();
    expect(abort.data.abortUpload).toBe(true);
    expect(codeOf(complete)).toBe('PRECONDITION_FAILED');
    expect(reasonOf(complete)).toBe('UPLOAD_ENDED');
    expect((await session(id)).status).toBe('ABORTED');
    const r = await q('query($p: String!) { fileByPath(path: $p) { id } }', { p: '/r7.bin' });
    expect(r.data.fileByPath).toBeNull();
    expect((await srv.app.services.ds.getRepository(User).findOneByOrFail({ id: user.userId })).reservedBytes).toBe(0);
  });

  test('two completeUpload calls of one session: both answer the same file, one revision, one CREATED', async () => {
    const { id, f, last } = await staged('/r8.bin');
    const [a, b] = await race('complete:assembled', () => q(COMPLETE, { s: id, p: last }), () => q(COMPLETE, { s: id, p: last }));
    expect(a.errors).toBeUndefined();
    expect(b.errors).toBeUndefined();
    expect(b.data.completeUpload).toEqual(a.data.completeUpload);
    await expectStored('/r8.bin', f);
  });
});

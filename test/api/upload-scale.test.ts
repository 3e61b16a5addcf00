import crypto from 'node:crypto';
import { gql, putPart, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const MiB = 1024 * 1024;
const PART = 8 * MiB;
const COUNT = 1500;

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * A session with many parts (a 12 GiB declaration; only two parts' bytes move): what a
 * confirmParts batch costs must not grow with the file. Counted on the real local store by
 * spying on (not replacing) the adapter the server uses.
 */
describe('upload sessions with many parts', () => {
  let srv: TestServer;
  let token: string;
  beforeAll(async () => {
    srv = await startTestServer();
    token = (await signUp(srv.url)).token;
  });
  afterAll(() => srv?.stop());

  it('confirms a batch with one store listing and mints part URLs only when a query selects them', async () => {
    const first = crypto.randomBytes(PART);
    const last = crypto.randomBytes(PART);
    const parts = Array.from({ length: COUNT }, (_, i) => ({
      partNumber: i + 1,
      size: PART,
      sha256: i === 0 ? sha256(first) : i === COUNT - 1 ? sha256(last) : crypto.randomBytes(32).toString('hex'),
    }));
    const contentHash = crypto.createHash('sha256').update(Buffer.concat(parts.map((p) => Buffer.from(p.sha256, 'hex')))).digest('hex');
    const storage = srv.app.services.storage;
    const presign = jest.spyOn(storage, 'presignUploadPart');
    const list = jest.spyOn(storage, 'listParts');

    const begun = await gql(srv.url, 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id parts { partNumber } } }', {
      i: { path: '/scale/big.bin', size: String(COUNT * PART), contentHash, parts },
    }, token);
    expect(begun.errors).toBeUndefined();
    expect(begun.data.beginUpload.parts).toHaveLength(COUNT);
    expect(presign).not.toHaveBeenCalled();
    const sessionId = begun.data.beginUpload.id;

    const urls = await gql(srv.url, 'mutation($s: ID!, $n: [Int!]!) { refreshPartUrls(sessionId: $s, partNumbers: $n) { partNumber url method headers { name value } } }',
      { s: sessionId, n: [1, COUNT] }, token);
    expect(presign).toHaveBeenCalledTimes(2);
    const [p1, pN] = urls.data.refreshPartUrls;
    const etags = [await putPart(srv.url, p1, first), await putPart(srv.url, pN, last)].map((r) => r.headers.get('etag')!);

    const confirm = 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id status } }';
    list.mockClear();
    let r = await gql(srv.url, confirm, { s: sessionId, p: [{ partNumber: COUNT, etag: etags[1] }] }, token);
    expect(r.errors).toBeUndefined();
    expect(list).toHaveBeenCalledTimes(1);
    expect(list.mock.calls[0][2]).toMatchObject({ marker: COUNT - 1 });
    list.mockClear();
    r = await gql(srv.url, confirm, { s: sessionId, p: [{ partNumber: 1, etag: etags[0] }] }, token);
    expect(list).toHaveBeenCalledTimes(1);
    expect(presign).toHaveBeenCalledTimes(2);

    // selecting statuses reads the parts but still mints nothing; selecting URLs mints the pending ones
    const status = await gql(srv.url, 'query($s: ID!) { uploadSession(id: $s) { parts { partNumber status } } }', { s: sessionId }, token);
    const verified = status.data.uploadSession.parts.filter((p: { status: string }) => p.status === 'VERIFIED').map((p: { partNumber: number }) => p.partNumber);
    expect(verified).toEqual([1, COUNT]);
    expect(presign).toHaveBeenCalledTimes(2);
    // a response holds at most 1,000 part URLs: the other pending parts get PAYLOAD_TOO_LARGE on `url`
    const withUrls = await gql(srv.url, 'mutation($s: ID!) { confirmParts(sessionId: $s, parts: []) { parts { partNumber url method } } }', { s: sessionId }, token);
    const minted = withUrls.data.confirmParts.parts.filter((p: { url: string | null }) => p.url !== null);
    expect(minted).toHaveLength(1000);
    expect(withUrls.errors).toHaveLength(COUNT - 2 - 1000);
    expect(new Set(withUrls.errors!.map((e) => e.extensions.code))).toEqual(new Set(['PAYLOAD_TOO_LARGE']));
    expect(presign).toHaveBeenCalledTimes(2 + 1000);
    const tooMany = await gql(srv.url, 'mutation($s: ID!, $n: [Int!]!) { refreshPartUrls(sessionId: $s, partNumbers: $n) { partNumber } }',
      { s: sessionId, n: Array.from({ length: 1001 }, (_, i) => i + 2) }, token);
    expect(tooMany.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    const rest = await gql(srv.url, 'mutation($s: ID!, $n: [Int!]!) { refreshPartUrls(sessionId: $s, partNumbers: $n) { url } }',
      { s: sessionId, n: Array.from({ length: 1000 }, (_, i) => i + 2) }, token);
    expect(rest.errors).toBeUndefined();
    expect(rest.data.refreshPartUrls.every((p: { url: string }) => !!p.url)).toBe(true);
  });
});

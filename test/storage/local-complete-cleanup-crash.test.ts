import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LocalStorageAdapter } from '../../src/storage/local';
import { beginInput, codeOf, gql, prepare, putPart, sha256, signUp, SESSION_FIELDS } from '../helpers/gql';
import { testDatabases } from '../helpers/db';
import { startTestServer, type TestServer } from '../helpers/server';

/**
 * Issue 12, item 1, as reported: the server is killed while completeMultipartUpload removes
 * the upload's staging folder after renaming the object into place. An older version's
 * removal (rm -r of the claimed folder) could leave upload.json without done.json and
 * without some part links; after the restart completeUpload answered missingParts:[3], and
 * re-sending part 3 wrote it into a new, empty data file that then replaced the good object
 * (zeros, under the declared contentHash). Whatever such a folder holds, the retry must end
 * with the file's bytes being the uploaded ones.
 */
const P = 1024 * 1024;
const SECRET = 'test-signing-secret';

describe.each(testDatabases)('a kill -9 while complete removes its staging folder (issue 12.1), on %s', (db) => {
  let server: TestServer;
  let root: string;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cleanup-crash-'));
    server = await startTestServer({ db, storage: { kind: 'local', local: { root, signingSecret: SECRET, minPartSize: P } }, config: { minPartSize: P } });
  });
  afterAll(async () => {
    await server?.stop();
    fs.rmSync(root, { recursive: true, force: true });
  });

  test.each([3, 2])('folder left with upload.json, no done.json, part %i unlinked: the retry keeps the good object', async (lost) => {
    const { token } = await signUp(server.url);
    const f = prepare(randomBytes(3 * P - 100), P);
    const begun = await gql(server.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(`/crash-${lost}.bin`, f) }, token);
    expect(begun.errors).toBeUndefined();
    const session = begun.data.beginUpload;
    const confirmed = [];
    for (const p of session.parts) {
      const res = await putPart(server.url, p, f.parts[p.partNumber - 1].bytes);
      expect(res.status).toBe(200);
      confirmed.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    expect((await gql(server.url, 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id } }', { s: session.id, p: confirmed }, token)).errors).toBeUndefined();

    // the dying server: its complete renamed the object into place, then died while removing the folder
    const [uploadId] = fs.readdirSync(path.join(root, '.uploads'));
    const upload = path.join(root, '.uploads', uploadId);
    const meta = JSON.parse(fs.readFileSync(path.join(upload, 'upload.json'), 'utf8')) as { key: string };
    const links = [1, 2, 3].map((n) => fs.readlinkSync(path.join(upload, String(n))));
    const dying = new LocalStorageAdapter({ root, signingSecret: SECRET, minPartSize: P });
    await dying.completeMultipartUpload(meta.key, uploadId, f.parts.map((p) => ({ partNumber: p.partNumber, etag: p.sha256 })));
    const host = os.hostname().replace(/[^A-Za-z0-9]/g, '');
    const left = path.join(root, '.tmp', `claimed-${uploadId}-0000aaaa-${host}-${2 ** 31 - 2}`);
    fs.mkdirSync(left, { recursive: true });
    fs.writeFileSync(path.join(left, 'upload.json'), JSON.stringify(meta));
    for (const n of [1, 2, 3]) if (n !== lost) fs.symlinkSync(links[n - 1], path.join(left, String(n)));

    // the client retries completeUpload; told parts are missing, it re-sends them and completes again
    let done = await gql(server.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { id size contentHash downloadUrl } }', { s: session.id }, token);
    const firstCode = codeOf(done);
    if (firstCode === 'PRECONDITION_FAILED') {
      const missing = done.errors![0].extensions.missingParts as number[];
      const urls = await gql(server.url, 'mutation($s: ID!, $n: [Int!]!) { refreshPartUrls(sessionId: $s, partNumbers: $n) { partNumber url method headers { name value } } }', { s: session.id, n: missing }, token);
      for (const p of urls.data?.refreshPartUrls ?? []) await putPart(server.url, p, f.parts[p.partNumber - 1].bytes);
      done = await gql(server.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { id size contentHash downloadUrl } }', { s: session.id }, token);
    }
    const file = done.data?.completeUpload;
    const back = file ? Buffer.from(await (await fetch(new URL(file.downloadUrl, server.url))).arrayBuffer()) : null;
    expect({ firstCode, errors: done.errors, sha256: back && sha256(back), contentHash: file?.contentHash })
      .toEqual({ firstCode: undefined, errors: undefined, sha256: sha256(f.bytes), contentHash: f.contentHash });
  });

  test('an object whose bytes are not the declared parts never becomes a revision (same size, other bytes)', async () => {
    const { token } = await signUp(server.url);
    const f = prepare(randomBytes(2 * P + 5), P);
    const begun = await gql(server.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/tampered.bin', f) }, token);
    const session = begun.data.beginUpload;
    for (const p of session.parts) expect((await putPart(server.url, p, f.parts[p.partNumber - 1].bytes)).status).toBe(200);
    const [uploadId] = fs.readdirSync(path.join(root, '.uploads'));
    const meta = JSON.parse(fs.readFileSync(path.join(root, '.uploads', uploadId, 'upload.json'), 'utf8')) as { key: string };
    const store = new LocalStorageAdapter({ root, signingSecret: SECRET, minPartSize: P });
    await store.completeMultipartUpload(meta.key, uploadId, f.parts.map((p) => ({ partNumber: p.partNumber, etag: p.sha256 })));
    // the object at the session's key: the right size, one byte different
    const object = path.join(root, 'objects', ...meta.key.split('/'));
    const fd = fs.openSync(object, 'r+');
    fs.writeSync(fd, Buffer.from([f.bytes[P + 7] ^ 0xff]), 0, 1, P + 7);
    fs.closeSync(fd);

    const done = await gql(server.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { id contentHash } }', { s: session.id }, token);
    expect(codeOf(done)).toBe('PRECONDITION_FAILED');
    const listed = await gql(server.url, 'query { listFolder(path: "/") { edges { node { name } } } }', {}, token);
    expect(listed.errors).toBeUndefined();
    expect(JSON.stringify(listed.data)).not.toContain('tampered.bin');
    expect(fs.existsSync(object)).toBe(false);
    // the client starts afresh: a new session (the broken one is not resumed), and the upload completes
    const again = await gql(server.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/tampered.bin', f) }, token);
    expect(again.data.beginUpload.id).not.toBe(session.id);
    for (const p of again.data.beginUpload.parts) await putPart(server.url, p, f.parts[p.partNumber - 1].bytes);
    const ok = await gql(server.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { contentHash downloadUrl } }', { s: again.data.beginUpload.id }, token);
    expect(ok.errors).toBeUndefined();
    expect(sha256(Buffer.from(await (await fetch(new URL(ok.data.completeUpload.downloadUrl, server.url))).arrayBuffer()))).toBe(sha256(f.bytes));
  });
});

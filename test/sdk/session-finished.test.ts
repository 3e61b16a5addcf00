import crypto from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { isTesseraError } from '../../clients/sdk/errors';
import { SESSION_FIELDS, beginInput, gql, prepare, putPart, sha256, signUp, type PreparedFile } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';
import { UploadGates } from '../helpers/upload-gates';

// The SDK core (shared by the CLI and the web app) resuming an upload session that another run
// completes (or aborts) under it: the upload did finish, so it answers that file (checked: the
// session COMPLETED with this content), never sends parts into the ended upload again, and never
// reports success for something not stored. Forced interleavings: the other run acts from the
// SDK's own part PUT (an injected fetch) or from a server hook, no timers.

const MiB = 1024 * 1024;
const BEGIN = `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`;

describe.each(['local', 's3'] as const)('an upload whose session finishes under it (%s store)', (store) => {
  let srv: TestServer;
  let dir: string;
  const gates = new UploadGates();
  const prefix = `test-session-finished-${crypto.randomBytes(4).toString('hex')}/`;
  beforeAll(async () => {
    const storage = store === 's3' ? { kind: 's3' as const, s3: { ...rgwEnv(), prefix } } : undefined;
    srv = await startTestServer({ storage });
    srv.app.services.uploads.hooks = gates;
    dir = await mkdtemp(join(tmpdir(), 'tessera-finished-'));
  }, 120_000);
  afterAll(async () => {
    await srv?.stop();
    await rm(dir, { recursive: true, force: true });
    if (store === 's3') await emptyRgwPrefix(prefix);
  });
  afterEach(() => gates.clear());

  /** Another run's session: both parts in the store, part 1 confirmed, part 2 not (a resume sends it again). */
  async function staged(token: string, path: string) {
    const f = prepare(crypto.randomBytes(8 * MiB + 1000), 8 * MiB);
    const s = (await gql(srv.url, BEGIN, { i: beginInput(path, f) }, token)).data.beginUpload;
    const etags: { partNumber: number; etag: string }[] = [];
    for (const p of s.parts) etags.push({ partNumber: p.partNumber, etag: (await putPart(srv.url, p, f.parts[p.partNumber - 1].bytes)).headers.get('etag')! });
    await gql(srv.url, 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id } }', { s: s.id, p: [etags[0]] }, token);
    const local = join(dir, `${crypto.randomUUID()}.bin`);
    await writeFile(local, f.bytes);
    const complete = () => gql(srv.url, 'mutation($s: ID!, $p: [ConfirmPartInput!]) { completeUpload(sessionId: $s, parts: $p) { id } }', { s: s.id, p: [etags[1]] }, token);
    const abort = () => gql(srv.url, 'mutation($s: ID!) { abortUpload(sessionId: $s) }', { s: s.id }, token);
    return { id: s.id as string, f, local, complete, abort };
  }

  /** A client of `token` whose part PUTs first run `before` (once), and which counts GraphQL operations and PUTs. */
  function client(token: string, before?: () => Promise<unknown>) {
    const ops: string[] = [];
    let puts = 0;
    let pending = before;
    const f = (async (input: string | URL, init: RequestInit = {}) => {
      if (String(input).endsWith('/graphql')) ops.push(/(?:query|mutation) (\w+)/.exec(JSON.parse(String(init.body)).query)?.[1] ?? '?');
      else if ((init.method ?? 'GET') === 'PUT') {
        puts++;
        const run = pending;
        pending = undefined;
        await run?.();
      }
      return fetch(input, init);
    }) as typeof fetch;
    return { sdk: new TesseraClient({ server: srv.url, token, fetch: f }), fetch: f, ops, puts: () => puts };
  }

  async function expectStored(token: string, path: string, f: PreparedFile) {
    const r = await gql(srv.url, 'query($p: String!) { fileByPath(path: $p) { contentHash downloadUrl } }', { p: path }, token);
    expect(r.data.fileByPath.contentHash).toBe(f.contentHash);
    expect(sha256(Buffer.from(await (await fetch(new URL(r.data.fileByPath.downloadUrl, srv.url))).arrayBuffer()))).toBe(sha256(f.bytes));
  }

  test('another run completes the session before this one PUTs its part: the store refuses the part, the upload answers the stored file', async () => {
    const { token } = await signUp(srv.url);
    const other = await staged(token, '/a.bin');
    const c = client(token, async () => expect((await other.complete()).errors).toBeUndefined());
    const up = await c.sdk.upload(other.local, '/a.bin', { fetch: c.fetch, fixedParts: true, concurrency: 1 });
    expect(up.sessionId).toBe(other.id);
    expect(up.file).toMatchObject({ path: '/a.bin', contentHash: other.f.contentHash });
    expect(c.puts()).toBe(1); // the one refused; nothing sent again
    expect(c.ops).not.toContain('CompleteUpload');
    expect(c.ops.filter((o) => o === 'BeginUpload')).toHaveLength(1);
    await expectStored(token, '/a.bin', other.f);
  });

  test('another run completes the session between the resume and its part URLs: the upload answers the stored file', async () => {
    const { token } = await signUp(srv.url);
    const other = await staged(token, '/b.bin');
    const gate = gates.hold('presign');
    const c = client(token);
    const running = c.sdk.upload(other.local, '/b.bin', { fetch: c.fetch, fixedParts: true, concurrency: 1 });
    await gate.reached;
    expect((await other.complete()).errors).toBeUndefined();
    gate.release();
    const up = await running;
    expect(up.file).toMatchObject({ path: '/b.bin', contentHash: other.f.contentHash });
    expect(c.ops).not.toContain('CompleteUpload');
    await expectStored(token, '/b.bin', other.f);
  });

  test('another run aborts the session under this one: CONFLICT (UPLOAD_ENDED), nothing stored, nothing sent again', async () => {
    const { token } = await signUp(srv.url);
    const other = await staged(token, '/c.bin');
    const c = client(token, async () => expect((await other.abort()).data.abortUpload).toBe(true));
    const err = await c.sdk.upload(other.local, '/c.bin', { fetch: c.fetch, fixedParts: true, concurrency: 1 }).then(() => null, (e) => e);
    expect(isTesseraError(err, 'CONFLICT')).toBe(true);
    expect(err.details.extensions.reason).toBe('UPLOAD_ENDED');
    expect(c.puts()).toBe(1);
    expect(c.ops).not.toContain('CompleteUpload');
    const r = await gql(srv.url, 'query { fileByPath(path: "/c.bin") { id } }', {}, token);
    expect(r.data.fileByPath).toBeNull();
  });
});

import crypto from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { testDatabases } from '../helpers/db';
import { beginInput, gql, prepare, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const ACTIVE = '{ activeUploads { id path status parts { status } } }';
const BEGIN = 'mutation($i: BeginUploadInput!) { beginUpload(input: $i) { id status } }';

/**
 * `activeUploads`: the caller's ACTIVE sessions from any of their devices, newest first (what
 * the web app follows with uploadProgress); never another user's; gone once aborted or completed.
 */
describe.each(testDatabases)('activeUploads on %s', (db) => {
  let srv: TestServer;
  beforeAll(async () => { srv = await startTestServer({ db }); });
  afterAll(async () => { await srv?.stop(); });

  it("lists the caller's own ACTIVE sessions, from every device, and nobody else's", async () => {
    const alice = await signUp(srv.url);
    const bob = await signUp(srv.url);
    const laptop = (await gql(srv.url, 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery", deviceName: "laptop") { token } }', { e: alice.email })).data.signIn.token;
    const plan = async (bytes: Buffer) => Number((await gql(srv.url, 'query($s: BigInt!) { uploadPlan(size: $s) { partSize } }', { s: String(bytes.length) }, alice.token)).data.uploadPlan.partSize);
    const a = crypto.randomBytes(1000);
    const b = crypto.randomBytes(2000);
    const first = (await gql(srv.url, BEGIN, { i: beginInput('/one.bin', prepare(a, await plan(a))) }, laptop)).data.beginUpload;
    const second = (await gql(srv.url, BEGIN, { i: beginInput('/two.bin', prepare(b, await plan(b))) }, alice.token)).data.beginUpload;
    expect([first.status, second.status]).toEqual(['ACTIVE', 'ACTIVE']);

    const listed = (await gql(srv.url, ACTIVE, {}, alice.token)).data.activeUploads;
    expect(listed.map((s: { path: string }) => s.path).sort()).toEqual(['/one.bin', '/two.bin']); // newest first, to the second SQLite keeps
    expect(listed[0].parts).toEqual([{ status: 'PENDING' }]);
    expect((await gql(srv.url, ACTIVE, {}, bob.token)).data.activeUploads).toEqual([]);

    await gql(srv.url, 'mutation($id: ID!) { abortUpload(sessionId: $id) }', { id: first.id }, alice.token);
    expect((await gql(srv.url, ACTIVE, {}, laptop)).data.activeUploads.map((s: { id: string }) => s.id)).toEqual([second.id]);
    expect((await gql(srv.url, ACTIVE)).errors?.[0]?.extensions.code).toBe('UNAUTHENTICATED');
  });

  it('the activeUploads subscription pushes the list when a session begins or ends on any device, never for another user', async () => {
    const alice = await signUp(srv.url);
    const bob = await signUp(srv.url);
    const laptop = (await gql(srv.url, 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery", deviceName: "laptop") { token } }', { e: alice.email })).data.signIn.token;
    const ws = createClient({ url: srv.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${laptop}` }, retryAttempts: 0 });
    const lists: string[][] = [];
    let wake = () => {};
    ws.subscribe<{ activeUploads: { path: string }[] }>({ query: 'subscription { activeUploads { path } }' }, {
      next: (r) => { lists.push(r.data!.activeUploads.map((s) => s.path).sort()); wake(); }, error: () => undefined, complete: () => undefined,
    });
    /** The next pushed list (each push is awaited, never a timer). */
    const next = async (n: number) => { while (lists.length < n) await new Promise<void>((r) => { wake = r; }); return lists[n - 1]; };
    expect(await next(1)).toEqual([]);
    const begin = async (token: string, path: string) => {
      const bytes = crypto.randomBytes(100);
      return (await gql(srv.url, BEGIN, { i: beginInput(path, prepare(bytes, 8 * 1024 * 1024)) }, token)).data.beginUpload;
    };
    const one = await begin(alice.token, '/p1.bin');
    expect(await next(2)).toEqual(['/p1.bin']);
    await begin(bob.token, '/bob.bin'); // not alice's: nothing pushed to her
    const batch = await gql(srv.url, 'mutation($i: [BeginUploadInput!]!) { beginUploads(inputs: $i) { session { id } } }',
      { i: [beginInput('/p2.bin', prepare(crypto.randomBytes(100), 8 * 1024 * 1024))] }, alice.token);
    expect(batch.errors).toBeUndefined();
    expect(await next(3)).toEqual(['/p1.bin', '/p2.bin']);
    await gql(srv.url, 'mutation($id: ID!) { abortUpload(sessionId: $id) }', { id: one.id }, alice.token);
    expect(await next(4)).toEqual(['/p2.bin']);
    await ws.dispose();
  });
});

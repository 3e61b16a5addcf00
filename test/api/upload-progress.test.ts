import crypto from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { SESSION_FIELDS, beginInput, gql, prepare, putPart, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

let srv: TestServer;
beforeAll(async () => { srv = await startTestServer(); });
afterAll(async () => { await srv?.stop(); });

test('another device of the same user watches an upload progress over graphql-ws; strangers cannot', async () => {
  const a = await signUp(srv.url);
  const signIn = await gql(srv.url, 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery", deviceName: "laptop") { token device { id } } }', { e: a.email });
  const deviceB = signIn.data.signIn.token;
  const f = prepare(crypto.randomBytes(8 * 1024 * 1024 + 100), 8 * 1024 * 1024);
  const session = (await gql(srv.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput('/watched.bin', f) }, a.token)).data.beginUpload;

  const ws = (token: string) => createClient({ url: srv.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const watcher = ws(deviceB);
  const seen: { status: string; verified: number }[] = [];
  let onUpdate = () => {};
  const done = new Promise<void>((resolve, reject) => {
    watcher.subscribe<{ uploadProgress: { status: string; parts: { status: string }[] } }>(
      { query: 'subscription($s: ID!) { uploadProgress(sessionId: $s) { status parts { status } } }', variables: { s: session.id } },
      {
        next: (r) => {
          const u = r.data!.uploadProgress;
          seen.push({ status: u.status, verified: u.parts.filter((p) => p.status === 'VERIFIED').length });
          onUpdate();
          if (u.status === 'COMPLETED') resolve();
        },
        error: reject,
        complete: () => resolve(),
      });
  });
  const waitFor = (n: number) => new Promise<void>((resolve) => { onUpdate = () => { if (seen.length >= n) resolve(); }; onUpdate(); });
  await waitFor(1);
  expect(seen[0]).toEqual({ status: 'ACTIVE', verified: 0 });

  const res = await putPart(srv.url, session.parts[0], f.parts[0].bytes);
  await gql(srv.url, 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id } }', { s: session.id, p: [{ partNumber: 1, etag: res.headers.get('etag') }] }, a.token);
  await waitFor(2);
  expect(seen[1]).toEqual({ status: 'ACTIVE', verified: 1 });

  await putPart(srv.url, session.parts[1], f.parts[1].bytes);
  await gql(srv.url, 'mutation($s: ID!) { completeUpload(sessionId: $s) { id } }', { s: session.id }, a.token);
  await done;
  expect(seen.at(-1)).toEqual({ status: 'COMPLETED', verified: 2 });
  await watcher.dispose();

  const stranger = await signUp(srv.url);
  const strangerWs = ws(stranger.token);
  const refused = await new Promise<string>((resolve) => {
    strangerWs.subscribe({ query: 'subscription($s: ID!) { uploadProgress(sessionId: $s) { status } }', variables: { s: session.id } }, {
      next: (r) => resolve(r.errors ? JSON.stringify(r.errors) : 'delivered'), error: (e) => resolve(JSON.stringify(e)), complete: () => resolve('complete'),
    });
  });
  expect(refused).toContain('NOT_FOUND');
  await strangerWs.dispose();
});

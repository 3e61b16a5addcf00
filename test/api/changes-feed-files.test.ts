import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';

/**
 * `Change.file` is the file as it is now, event after event: a subscription's context lives as
 * long as the subscription, so nothing it resolves may be cached from an earlier event.
 */
describe('the file of each live change', () => {
  let srv: TestServer;
  let client: Client | undefined;
  beforeAll(async () => { srv = await startTestServer(); });
  afterAll(async () => {
    await client?.dispose();
    await srv?.stop();
  });


  it('shows each event the file as it is when the event is sent (moved, then shared)', async () => {
    const alice = await signUp(srv.url);
    const bob = await signUp(srv.url);
    const latest = (await gql(srv.url, '{ latestCursor }', {}, alice.token)).data.latestCursor;
    client = createClient({ url: srv.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${alice.token}` }, retryAttempts: 0 });
    const got: { kind: string; path: string; file: { path: string; shares: { id: string }[] } | null }[] = [];
    client.subscribe({ query: 'subscription($c: String) { changes(cursor: $c) { kind path file { path shares { id } } } }', variables: { c: latest } }, {
      next: (v) => { if (v.data) got.push(v.data.changes as never); },
      error: () => undefined,
      complete: () => undefined,
    });

    const id = (await gql(srv.url, 'mutation { createFolder(path: "/a") { id } }', {}, alice.token)).data.createFolder.id;
    await until(() => got.length === 1);
    expect(got[0].file).toMatchObject({ path: '/a', shares: [] });

    await gql(srv.url, 'mutation($id: ID!) { moveFile(id: $id, toPath: "/b") { id } }', { id }, alice.token);
    await until(() => got.length === 2);
    expect(got[1]).toMatchObject({ kind: 'MOVED', path: '/b', file: { path: '/b', shares: [] } });

    await gql(srv.url, 'mutation($id: ID!, $e: String!) { shareFile(fileId: $id, email: $e, role: VIEWER) { id } }', { id, e: bob.email }, alice.token);
    await until(() => got.length === 3);
    expect(got[2].kind).toBe('SHARED');
    expect(got[2].file?.shares).toHaveLength(1);
  });
});

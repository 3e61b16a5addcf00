import WebSocket from 'ws';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// graphql-ws abuse with a real WebSocket client speaking the protocol by hand: oversized
// messages, sockets that never send connection_init or never authenticate, too many sockets per
// user. Limits are small here so the suite is quick; the defaults are in the README.
const LIMITS = { maxRequestBytes: 256 * 1024, wsInitTimeoutMs: 400, wsAnonymousMs: 800, wsMaxConnectionsPerUser: 3 };

let srv: TestServer;
beforeAll(async () => { srv = await startTestServer({ config: LIMITS }); });
afterAll(async () => { await srv?.stop(); });

interface Socket {
  ws: WebSocket;
  /** Resolves with the close code (and when it came, ms after opening). */
  closed: Promise<{ code: number; reason: string; afterMs: number }>;
  /** The next message of a type. */
  next(type: string): Promise<any>;
  send(message: unknown): void;
}

async function open(): Promise<Socket> {
  const ws = new WebSocket(srv.url.replace('http', 'ws') + '/graphql', 'graphql-transport-ws');
  const t0 = performance.now();
  const messages: any[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => { messages.push(JSON.parse(String(data))); for (const w of waiters.splice(0)) w(); });
  const closed = new Promise<{ code: number; reason: string; afterMs: number }>((resolve) => {
    ws.on('close', (code, reason) => { resolve({ code, reason: String(reason), afterMs: performance.now() - t0 }); for (const w of waiters.splice(0)) w(); });
  });
  ws.on('error', () => {});
  await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return {
    ws,
    closed,
    send: (m) => ws.send(typeof m === 'string' ? m : JSON.stringify(m)),
    next: async (type) => {
      for (;;) {
        const i = messages.findIndex((m) => m.type === type);
        if (i >= 0) return messages.splice(i, 1)[0];
        if (ws.readyState === WebSocket.CLOSED) throw new Error(`closed before a ${type} message`);
        await new Promise<void>((r) => waiters.push(r));
      }
    },
  };
}

/** An open, acknowledged socket: connection_init with `token` (none: anonymous). */
async function connected(token?: string): Promise<Socket> {
  const s = await open();
  s.send({ type: 'connection_init', payload: token ? { authorization: `Bearer ${token}` } : {} });
  await s.next('connection_ack');
  return s;
}

const stillOpen = (s: Socket) => s.ws.readyState === WebSocket.OPEN;

test('a message larger than MAX_REQUEST_BYTES closes the socket (1009) before it is taken in; the server goes on', async () => {
  const s = await connected();
  const query = `{ me { id } } # ${'x'.repeat(LIMITS.maxRequestBytes)}`;
  s.send({ id: '1', type: 'subscribe', payload: { query } });
  expect((await s.closed).code).toBe(1009);
  // also before connection_init
  const early = await open();
  early.send('x'.repeat(LIMITS.maxRequestBytes + 1));
  expect((await early.closed).code).toBe(1009);
  // just under the cap is taken (and answered)
  const ok = await connected();
  ok.send({ id: '2', type: 'subscribe', payload: { query: `{ __typename } # ${'x'.repeat(LIMITS.maxRequestBytes - 200)}` } });
  expect((await ok.next('next')).payload).toEqual({ data: { __typename: 'Query' } });
  ok.ws.close();
  expect((await fetch(`${srv.url}/healthz`)).status).toBe(200);
});

test('a socket that sends no connection_init is closed (4408) after WS_INIT_TIMEOUT_MS', async () => {
  const s = await open();
  const { code, afterMs } = await s.closed;
  expect(code).toBe(4408);
  expect(afterMs).toBeGreaterThanOrEqual(LIMITS.wsInitTimeoutMs - 50);
  expect(afterMs).toBeLessThan(LIMITS.wsInitTimeoutMs + 1000);
});

test('an unauthenticated socket may ask (UNAUTHENTICATED) but is closed (4401) after WS_ANONYMOUS_MS; an authenticated one stays', async () => {
  const { token } = await signUp(srv.url);
  const anon = await connected();
  const bad = await connected('not-a-token');
  const mine = await connected(token);
  anon.send({ id: '1', type: 'subscribe', payload: { query: 'subscription { changes { path } }' } });
  const refused = await anon.next('next');
  expect(refused.payload.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  for (const s of [anon, bad]) {
    const { code, afterMs } = await s.closed;
    expect(code).toBe(4401);
    expect(afterMs).toBeGreaterThanOrEqual(LIMITS.wsAnonymousMs - 50);
    expect(afterMs).toBeLessThan(LIMITS.wsAnonymousMs + 1500);
  }
  expect(stillOpen(mine)).toBe(true);
  mine.send({ id: '1', type: 'subscribe', payload: { query: '{ me { id } }' } });
  expect((await mine.next('next')).payload.data.me.id).toBeTruthy();
  mine.ws.close();
});

test('at most WS_MAX_CONNECTIONS_PER_USER sockets per user: the next is closed (4429); a closed one frees its place', async () => {
  const alice = await signUp(srv.url);
  const bob = await signUp(srv.url);
  const sockets = [];
  for (let i = 0; i < LIMITS.wsMaxConnectionsPerUser; i++) sockets.push(await connected(alice.token));
  // a second device of the same user counts too
  const laptop = (await gql(srv.url, 'mutation($e: String!) { signIn(email: $e, password: "correct horse battery", deviceName: "laptop") { token } }', { e: alice.email })).data.signIn.token;
  const over = await open();
  over.send({ type: 'connection_init', payload: { authorization: `Bearer ${laptop}` } });
  expect((await over.closed).code).toBe(4429);
  expect(sockets.every(stillOpen)).toBe(true);
  // other users are not affected
  const other = await connected(bob.token);
  expect(stillOpen(other)).toBe(true);
  // closing one makes room
  sockets[0].ws.close();
  await sockets[0].closed;
  const again = await connected(alice.token);
  expect(stillOpen(again)).toBe(true);
  for (const s of [...sockets, other, again]) s.ws.close();
  await Promise.all([...sockets, other, again].map((s) => s.closed));
});

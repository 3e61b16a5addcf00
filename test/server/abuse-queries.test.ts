import WebSocket from 'ws';
import { createClient, type Client } from 'graphql-ws';
import { User } from '../../src/entities';
import { codeOf, gql, signUp, type GqlResult } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// Abusive GraphQL documents, sent anonymously over HTTP and graphql-ws, are refused within
// milliseconds with a coded error, while /healthz keeps answering within 100 ms. Before the
// limits were linear in the document, the 802-byte fragment bomb alone stalled the server for
// seconds (its cost walk expanded every spread).

/** `fragment F1 on User { ...F0 ...F0 }` ... `F<levels>`: 2^levels expansions of F0. */
function fragmentBomb(levels = 20): string {
  let doc = '{ me { ...F' + levels + ' } } fragment F0 on User { id email }';
  for (let i = 1; i <= levels; i++) doc += ` fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`;
  return doc;
}
const aliasBomb = (n = 300) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
const directiveBomb = (n = 600) => `{ __typename ${'@a '.repeat(n)}}`;
const tokenBomb = (n = 20_000) => `{ me { ${'id '.repeat(n)}} }`;
const signUpBomb = (n = 50) => `mutation { ${Array.from({ length: n }, (_, i) => `s${i}: signUp(email: "bomb${i}@example.com", password: "correct horse battery") { token }`).join(' ')} }`;

const BOMBS: [string, string, string | undefined][] = [
  ['fragment bomb', fragmentBomb(), 'cost'],
  ['alias bomb', aliasBomb(), 'aliases'],
  ['directive bomb', directiveBomb(), 'directives'],
  ['token bomb', tokenBomb(), undefined],
  ['50 aliased signUps', signUpBomb(), 'aliases'],
];

const ATTACK_MS = 1000;

let srv: TestServer;
beforeAll(async () => { srv = await startTestServer(); });
afterAll(async () => { await srv?.stop(); });

/** Polls /healthz every 10 ms while `work` runs; the slowest answer, ms. */
async function slowestHealthz(work: () => Promise<unknown>): Promise<{ slowest: number; probes: number }> {
  let running = true;
  let slowest = 0;
  let probes = 0;
  const probe = (async () => {
    while (running) {
      const t0 = performance.now();
      const res = await fetch(`${srv.url}/healthz`);
      await res.arrayBuffer();
      expect(res.status).toBe(200);
      slowest = Math.max(slowest, performance.now() - t0);
      probes++;
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  try {
    await work();
  } finally {
    running = false;
    await probe;
  }
  return { slowest, probes };
}

async function timed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await f();
  return { value, ms: performance.now() - t0 };
}

function wsClient(token?: string): Client {
  return createClient({
    url: srv.url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, retryAttempts: 0, lazy: true,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
}

/** One operation over graphql-ws: its result, or its errors as a GqlResult. */
async function overWs(client: Client, query: string): Promise<GqlResult> {
  try {
    const it = client.iterate({ query });
    const r = await it.next();
    await it.return?.();
    return r.value as GqlResult;
  } catch (e) {
    const errors = Array.isArray(e) ? e : [e];
    return { errors: errors.map((x: any) => ({ message: String(x?.message ?? x?.reason), extensions: x?.extensions ?? { code: `NO_CODE(${x?.code})` } })) };
  }
}

function expectRefused(r: GqlResult, limit: string | undefined, what: string): void {
  expect({ what, codes: [...new Set(r.errors?.map((e) => e.extensions.code))] }).toEqual({ what, codes: ['BAD_USER_INPUT'] });
  expect(r.data ?? null).toBeNull();
  if (limit) expect({ what, limits: r.errors!.map((e) => e.extensions.limit) }).toEqual({ what, limits: expect.arrayContaining([limit]) });
}

const userCount = () => srv.app.services.ds.getRepository(User).count();

describe.each(['HTTP', 'graphql-ws'])('abusive documents over %s', (transport) => {
  test.each(BOMBS)('%s: refused fast with a coded error while /healthz answers within 100 ms', async (what, doc, limit) => {
    const client = transport === 'graphql-ws' ? wsClient() : undefined;
    const send = () => (client ? overWs(client, doc) : gql(srv.url, doc));
    try {
      await send(); // warm-up (connection, JIT)
      const users = await userCount();
      const results: { value: GqlResult; ms: number }[] = [];
      const { slowest, probes } = await slowestHealthz(async () => {
        // three attackers for a second
        const until = performance.now() + ATTACK_MS;
        await Promise.all([1, 2, 3].map(async () => { while (performance.now() < until) results.push(await timed(send)); }));
      });
      for (const r of results) expectRefused(r.value, limit, what);
      const slowestRefusal = Math.max(...results.map((r) => r.ms));
      expect({ what, slowestRefusal: slowestRefusal < 250 }).toEqual({ what, slowestRefusal: true });
      expect(probes).toBeGreaterThan(0);
      expect({ what, slowestHealthz: Math.round(slowest), under100: slowest < 100 }).toMatchObject({ what, under100: true });
      expect(await userCount()).toBe(users); // nothing ran
    } finally {
      await client?.dispose();
    }
  });
});

describe('limits that legitimate documents stay under', () => {
  test('a fragment spread many times is measured once: a wide but cheap document passes', async () => {
    const { token } = await signUp(srv.url);
    // 10 levels: 1,024 expansions of F0, cost 2,048, within every limit
    const r = await gql(srv.url, fragmentBomb(10), {}, token);
    expect(r.errors).toBeUndefined();
    expect(r.data.me.id).toBeTruthy();
  });

  test('mutations per request: more than the maximum root fields is refused before any runs; within it they run', async () => {
    const { token } = await signUp(srv.url);
    const folders = (n: number) => `mutation { ${Array.from({ length: n }, (_, i) => `f${i}: createFolder(path: "/m${n}/${i}") { id }`).join(' ')} }`;
    const over = await gql(srv.url, folders(srv.config.maxMutationsPerRequest + 1), {}, token);
    expectRefused(over, 'mutations', 'too many mutations');
    expect((await gql(srv.url, `{ fileByPath(path: "/m${srv.config.maxMutationsPerRequest + 1}") { id } }`, {}, token)).data.fileByPath).toBeNull();
    const within = await gql(srv.url, folders(3), {}, token);
    expect(within.errors).toBeUndefined();
    expect(Object.keys(within.data)).toHaveLength(3);
  });

  test('depth counts fields through fragment spreads and inline fragments', async () => {
    const { token } = await signUp(srv.url);
    // 13 fields deep (the maximum is 12), 8 of them inside fragments
    const deep = '{ sharedWithMe { edges { node { ...N } } } } '
      + 'fragment N on File { shares { file { ... on File { shares { file { ...M } } } } } } '
      + 'fragment M on File { shares { file { shares { file { owner { id } } } } } }';
    const r = await gql(srv.url, deep, {}, token);
    expectRefused(r, 'depth', 'deep through fragments');
  });

  test('batched HTTP requests (a JSON array) are refused with a code; none of them runs', async () => {
    const users = await userCount();
    const res = await fetch(`${srv.url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify(Array.from({ length: 5 }, (_, i) => ({ query: `mutation { signUp(email: "batch${i}@example.com", password: "correct horse battery") { token } }` }))),
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(await userCount()).toBe(users);
  });
});

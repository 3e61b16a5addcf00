import { Worker } from 'node:worker_threads';
import { User } from '../../src/entities';
import { codeOf, gql, signUp, type GqlResult } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// Abusive GraphQL documents, sent anonymously over HTTP and graphql-ws by three attackers for a
// second, are refused within milliseconds with a coded error (extensions.limit naming the limit),
// while /healthz keeps answering within 100 ms. Before the limits were checked first and linearly,
// the 800-byte fragment bomb alone stalled the server for seconds per request (the cost walk
// expanded every spread) and the 50 aliased signUps created 50 accounts.

/** `fragment F1 on User { ...F0 ...F0 }` ... `F<levels>`: 2^levels expansions of F0. */
function fragmentBomb(levels = 20): string {
  let doc = '{ me { ...F' + levels + ' } } fragment F0 on User { id email }';
  for (let i = 1; i <= levels; i++) doc += ` fragment F${i} on User { ...F${i - 1} ...F${i - 1} }`;
  return doc;
}
const aliasBomb = (n = 160) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`;
const directiveBomb = (n = 450) => `{ __typename ${'@a '.repeat(n)}}`;
const tokenBomb = (n = 20_000) => `{ me { ${'id '.repeat(n)}} }`;
const signUpBomb = (n = 50) => `mutation { ${Array.from({ length: n }, (_, i) => `s${i}: signUp(email: "bomb${i}@example.com", password: "correct horse battery") { token }`).join(' ')} }`;

const BOMBS: [string, string, string | undefined][] = [
  ['fragment bomb', fragmentBomb(), 'cost'],
  ['alias bomb', aliasBomb(), 'aliases'],
  ['directive bomb', directiveBomb(), 'directives'],
  ['token bomb', tokenBomb(), 'tokens'],
  ['50 aliased signUps', signUpBomb(), 'aliases'],
];

const ATTACK_MS = 1000;
// timing on a 2-core machine shared with other suites: a test that missed its times runs again
// (up to twice); a real stall (seconds per request, as before) misses them every time
jest.retryTimes(2, { logErrorsBeforeRetry: true });

let srv: TestServer;
beforeAll(async () => { srv = await startTestServer(); });
afterAll(async () => { await srv?.stop(); });

/**
 * The attackers: `concurrency` loops sending `doc` for `ms` over `transport`, in a worker thread,
 * so that their own work does not delay the /healthz probes made from this thread (where the
 * server runs). Posts 'attacking' after a warm-up request, then every result with its time.
 */
const ATTACKER = `
const { parentPort, workerData: { url, doc, transport, ms, concurrency } } = require('node:worker_threads');
(async () => {
  let client;
  let send = async () => (await fetch(url + '/graphql', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: doc }) })).json();
  if (transport === 'graphql-ws') {
    const { createClient } = require('graphql-ws');
    client = createClient({ url: url.replace('http', 'ws') + '/graphql', webSocketImpl: require('ws'), retryAttempts: 0, lazy: true });
    send = async () => {
      try {
        const it = client.iterate({ query: doc });
        const r = await it.next();
        await it.return?.();
        return r.value;
      } catch (e) {
        const errors = Array.isArray(e) ? e : [e];
        return { errors: errors.map((x) => ({ message: String(x?.message ?? x?.reason), extensions: x?.extensions ?? { code: 'NO_CODE(' + x?.code + ')' } })) };
      }
    };
  }
  await send(); // warm-up (connection, JIT)
  parentPort.postMessage({ attacking: true });
  const results = [];
  const until = performance.now() + ms;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      const value = await send();
      results.push({ value, ms: performance.now() - t0 });
    }
  }));
  await client?.dispose();
  parentPort.postMessage({ results });
})().catch((e) => parentPort.postMessage({ failed: String(e && e.stack || e) }));
`;

type Attack = { results: { value: GqlResult; ms: number }[]; healthz: number[]; baseline: number[] };

/** Runs the attackers (see ATTACKER) while polling /healthz every 10 ms from this thread. */
async function attack(transport: string, doc: string): Promise<Attack> {
  const baseline: number[] = [];
  for (let i = 0; i < 20; i++) {
    baseline.push(await probeHealthz());
    await new Promise((r) => setTimeout(r, 10));
  }
  const worker = new Worker(ATTACKER, { eval: true, workerData: { url: srv.url, doc, transport, ms: ATTACK_MS, concurrency: 3 } });
  const healthz: number[] = [];
  let running = false;
  let probing: Promise<void> = Promise.resolve();
  try {
    const results = await new Promise<Attack['results']>((resolve, reject) => {
      worker.on('error', reject);
      worker.on('message', (m) => {
        if (m.failed) reject(new Error(m.failed));
        if (m.results) resolve(m.results);
        if (!m.attacking) return;
        running = true;
        probing = (async () => {
          while (running) {
            healthz.push(await probeHealthz());
            await new Promise((r) => setTimeout(r, 10));
          }
        })();
      });
    });
    return { results, healthz, baseline };
  } finally {
    running = false;
    await probing;
    await worker.terminate();
  }
}

/** One GET /healthz: how long it took, ms. */
async function probeHealthz(): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${srv.url}/healthz`);
  await res.arrayBuffer();
  expect(res.status).toBe(200);
  return performance.now() - t0;
}

/** The median, 90th percentile and maximum of `ms`, rounded. */
function percentiles(ms: number[]): { p50: number; p90: number; max: number } {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (q: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  return { p50: at(0.5), p90: at(0.9), max: Math.round(sorted[sorted.length - 1]) };
}

function expectRefused(r: GqlResult, limit: string | undefined, what: string): void {
  expect({ what, codes: [...new Set(r.errors?.map((e) => e.extensions.code))] }).toEqual({ what, codes: ['BAD_USER_INPUT'] });
  expect(r.data ?? null).toBeNull();
  if (limit) expect({ what, limits: r.errors!.map((e) => e.extensions.limit) }).toEqual({ what, limits: expect.arrayContaining([limit]) });
}

const userCount = () => srv.app.services.ds.getRepository(User).count();

describe.each(['HTTP', 'graphql-ws'])('abusive documents over %s', (transport) => {
  test.each(BOMBS)('%s: refused fast with a coded error while /healthz answers within 100 ms', async (what, doc, limit) => {
    const users = await userCount();
    const { results, healthz, baseline } = await attack(transport, doc);
    expect(results.length).toBeGreaterThan(3);
    for (const r of results) expectRefused(r.value, limit, what);
    expect(healthz.length).toBeGreaterThan(5);
    // 9 in 10 within 100 ms, none stalled. On a loaded machine (2 cores shared with other suites)
    // the scheduler alone slows every request: what the machine took to answer /healthz without
    // the attack (its 90th percentile) is allowed on top; a defect stalls requests for seconds
    const times = { what, refusal: percentiles(results.map((r) => r.ms)), healthz: percentiles(healthz), idle: percentiles(baseline) };
    const allowed = 100 + times.idle.p90;
    if (process.env.ABUSE_TIMES) console.log(JSON.stringify(times)); // ABUSE_TIMES=1: print every measurement
    const within = { refusalP90: times.refusal.p90 < allowed, refusalMax: times.refusal.max < 1000, healthzP90: times.healthz.p90 < allowed, healthzMax: times.healthz.max < 1000 };
    expect({ times, within }).toEqual({ times, within: { refusalP90: true, refusalMax: true, healthzP90: true, healthzMax: true } });
    expect(await userCount()).toBe(users); // nothing ran
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

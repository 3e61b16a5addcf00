import { User } from '../../src/entities';
import { codeOf, gql } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

// Every HTTP error is JSON with a code and leaks nothing internal (no HTML page, stack trace or
// path), whatever NODE_ENV is; signUp is rate limited per client address.

const LEAKS = /<html|<pre|\bat [\w.<>]+ \(|node_modules|\/work\/|\/src\/|[A-Z]:\\|[a-z]Error:|stack/i;

describe.each(['development', 'production'])('HTTP errors with NODE_ENV=%s', (env) => {
  let srv: TestServer;
  const saved = process.env.NODE_ENV;
  beforeAll(async () => {
    process.env.NODE_ENV = env; // Express reads it when the app is made
    srv = await startTestServer({ config: { maxRequestBytes: 64 * 1024 } });
  });
  afterAll(async () => {
    process.env.NODE_ENV = saved;
    await srv?.stop();
  });

  /** Sends a request; its status, code (GraphQL errors[0] or { code }) and raw body, checked for leaks. */
  async function call(path: string, init: RequestInit = {}): Promise<{ status: number; code: string | undefined; body: string; headers: Headers }> {
    const res = await fetch(`${srv.url}${path}`, init);
    const body = await res.text();
    expect({ path, leaks: LEAKS.exec(body)?.[0] ?? null }).toEqual({ path, leaks: null });
    expect({ path, type: res.headers.get('content-type') }).toEqual({ path, type: expect.stringMatching(/^application\/(graphql-response\+)?json/) });
    const json = JSON.parse(body);
    return { status: res.status, code: json.errors?.[0]?.extensions?.code ?? json.code ?? json.error?.code, body, headers: res.headers };
  }
  const post = (path: string, body: string | Uint8Array, type = 'application/json'): RequestInit => ({ method: 'POST', headers: { 'content-type': type }, body: body as BodyInit });

  test('malformed JSON, an oversized body, a non-JSON body, an empty body to /graphql: 4xx JSON with a code', async () => {
    expect(await call('/graphql', post('/graphql', '{"query": "{ me { id } }"'))).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    expect(await call('/graphql', post('/graphql', '{"query": "{ me { id } }"'.replace('{', '[')))).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    const big = JSON.stringify({ query: '{ me { id } }', variables: { x: 'x'.repeat(100 * 1024) } });
    expect(await call('/graphql', post('/graphql', big))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(await call('/graphql', post('/graphql', 'query { me { id } }', 'text/plain'))).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    expect(await call('/graphql', post('/graphql', ''))).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    expect(await call('/graphql', post('/graphql', '{"query": "{ me { id } }"}', 'application/json; charset=klingon'))).toMatchObject({ status: 415, code: 'BAD_USER_INPUT' });
    // a GraphQL error from inside (a syntax error) keeps its code and no stack trace either
    const syntax = await call('/graphql', post('/graphql', JSON.stringify({ query: '{ me { id ' })));
    expect(syntax).toMatchObject({ status: 400, code: 'BAD_USER_INPUT' });
    expect(JSON.parse(syntax.body).errors[0].extensions).toEqual({ code: 'BAD_USER_INPUT' });
  });

  test('unknown routes and methods, blob and share-link routes: JSON with a code', async () => {
    expect(await call('/nowhere')).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await call('/nowhere', post('/nowhere', '{'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await call('/blobs/elsewhere')).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    expect(await call('/blobs/object?k=x&sig=nope')).toMatchObject({ status: 403 });
    expect(await call('/blobs/part?k=x&sig=nope', { method: 'PUT', body: 'abc' })).toMatchObject({ status: 403 });
    expect(await call('/s/no-such-link')).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const form = `password=${'x'.repeat(20 * 1024)}`;
    expect(await call('/s/no-such-link', post('/s/no-such-link', form, 'application/x-www-form-urlencoded'))).toMatchObject({ status: 413, code: 'PAYLOAD_TOO_LARGE' });
    expect(await call('/s/no-such-link', post('/s/no-such-link', 'password=%E0%A4%A', 'application/x-www-form-urlencoded; charset=klingon'))).toMatchObject({ status: 415 });
    const head = await fetch(`${srv.url}/nowhere`);
    expect(head.headers.get('x-content-type-options')).toBe('nosniff');
    expect(head.headers.get('x-powered-by')).toBeNull();
  });
});

describe('signUp rate limit per client address', () => {
  let srv: TestServer;
  const MAX = 3;
  beforeAll(async () => { srv = await startTestServer({ config: { signUpMaxPerWindow: MAX, trustProxy: 'loopback' } }); });
  afterAll(async () => { await srv?.stop(); });

  const SIGNUP = 'mutation($e: String!) { signUp(email: $e, password: "correct horse battery") { token } }';
  let n = 0;
  const email = () => `rl${Date.now()}-${n++}@example.com`;
  const from = (ip: string, e = email()) => fetch(`${srv.url}/graphql`, {
    method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': ip }, body: JSON.stringify({ query: SIGNUP, variables: { e } }),
  }).then((r) => r.json());
  const exists = (e: string) => srv.app.services.ds.getRepository(User).existsBy({ email: e });

  test('more than SIGNUP_MAX_PER_WINDOW from one address are RATE_LIMITED (with retryAfterSeconds) and create nothing; other addresses are not affected', async () => {
    for (let i = 0; i < MAX; i++) expect((await from('203.0.113.1')).data.signUp.token).toBeTruthy();
    const e = email();
    const refused = await from('203.0.113.1', e);
    expect(codeOf(refused)).toBe('RATE_LIMITED');
    expect(refused.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(0);
    expect(await exists(e)).toBe(false);
    // failed attempts count too (a CONFLICT probe of known emails is no way round)
    expect((await from('203.0.113.2')).data.signUp.token).toBeTruthy();
    const taken = email();
    expect((await from('203.0.113.2', taken)).data.signUp.token).toBeTruthy();
    expect(codeOf(await from('203.0.113.2', taken))).toBe('CONFLICT');
    expect(codeOf(await from('203.0.113.2'))).toBe('RATE_LIMITED');
    expect((await from('203.0.113.3')).data.signUp.token).toBeTruthy();
  });

  test('aliased signUps in one request count one by one: only the allowance is created', async () => {
    const emails = Array.from({ length: 8 }, email);
    const doc = `mutation { ${emails.map((e, i) => `s${i}: signUp(email: "${e}", password: "correct horse battery") { token }`).join(' ')} }`;
    const r = await fetch(`${srv.url}/graphql`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: JSON.stringify({ query: doc }),
    }).then((res) => res.json());
    // signUp is non-null: the first refusal ends the request (the rest never run)
    expect(r.errors.map((x: any) => [x.extensions.code, x.path[0]])).toEqual([['RATE_LIMITED', `s${MAX}`]]);
    const created = await Promise.all(emails.map(exists));
    expect(created.filter(Boolean)).toHaveLength(MAX);
  });
});

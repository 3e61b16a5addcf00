import vm from 'node:vm';
import { gql, signUp } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';

const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,*/*;q=0.8';

/**
 * A stand-in browser for the GraphiQL page's own script: the page's sign-in form and the
 * script served with it, run in a VM context whose DOM, localStorage and React are recorders,
 * and whose fetch is the real one against a real server. What it proves: signing in stores the
 * token and this browser's device id, GraphiQL gets the Authorization header, and signing in
 * again reuses the device instead of adding one.
 */
function fakeBrowser(origin: string, script: string, saved: Map<string, string> = new Map()) {
  const storage = new Map(saved);
  const listeners: Record<string, (e: { preventDefault(): void }) => void> = {};
  const elements = { email: { value: '' }, password: { value: '' } };
  const status = { textContent: '' };
  const signOut = { hidden: true, addEventListener: (_: string, f: () => void) => { listeners.signout = f as never; } };
  const form = { elements, addEventListener: (type: string, f: (e: { preventDefault(): void }) => void) => { listeners[type] = f; } };
  const rendered: Array<Record<string, unknown>> = [];
  const byId: Record<string, unknown> = {
    graphiql: { getAttribute: () => '/graphql' },
    'tessera-signin': form,
    'tessera-signin-status': status,
    'tessera-signout': signOut,
  };
  const context = vm.createContext({
    document: { getElementById: (id: string) => byId[id] ?? null },
    location: new URL(origin),
    localStorage: { getItem: (k: string) => storage.get(k) ?? null, setItem: (k: string, v: string) => storage.set(k, String(v)), removeItem: (k: string) => storage.delete(k) },
    navigator: { userAgent: 'FakeBrowser/1.0' },
    fetch: (input: string, init: RequestInit) => fetch(input, init),
    React: { createElement: (_type: unknown, props: Record<string, unknown>) => props },
    ReactDOM: { createRoot: () => ({ render: (props: Record<string, unknown>) => rendered.push(props) }) },
    GraphiQL: { createFetcher: () => () => undefined },
    graphqlWs: { createClient: () => ({}) },
    JSON, Object, Promise, console,
  });
  vm.runInContext(script, context);
  const settle = () => new Promise((r) => setTimeout(r, 300));
  return {
    storage, status, rendered, signOut,
    async signIn(email: string, password: string) {
      elements.email.value = email;
      elements.password.value = password;
      listeners.submit({ preventDefault: () => undefined });
      for (let i = 0; i < 20 && /signing in/.test(status.textContent); i++) await settle();
    },
    settle,
  };
}

describe('GraphiQL sign-in', () => {
  let srv: TestServer;
  let script: string;
  beforeAll(async () => {
    srv = await startTestServer();
    const html = await (await fetch(`${srv.url}/graphql`, { headers: { accept: BROWSER_ACCEPT } })).text();
    expect(html).toMatch(/<form id="tessera-signin"[\s\S]*name="email"[\s\S]*name="password"[\s\S]*type="submit"/);
    const src = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((m) => m[1]).find((s) => /tessera-graphiql\./.test(s))!;
    script = await (await fetch(new URL(src, srv.url))).text();
  });
  afterAll(async () => { await srv?.stop(); });

  it('signs in, sets the Authorization header, and reuses this browser\'s device on the next sign-in', async () => {
    const user = await signUp(srv.url);
    const browser = fakeBrowser(srv.url, script);
    expect(browser.status.textContent).toBe('not signed in');
    await browser.signIn(user.email, 'wrong password!');
    expect(browser.status.textContent).toMatch(/^sign-in failed: wrong email or password/);
    expect(browser.storage.size).toBe(0);

    await browser.signIn(user.email, 'correct horse battery');
    expect(browser.status.textContent).toMatch(/^signed in as /);
    const token = browser.storage.get('tessera.graphiql.token')!;
    const deviceId = browser.storage.get('tessera.graphiql.deviceId')!;
    expect((await gql(srv.url, '{ me { id } }', {}, token)).data.me.id).toBe(user.userId);
    expect(JSON.parse(browser.rendered.at(-1)!.headers as string)).toEqual({ Authorization: `Bearer ${token}` });

    // signing in again (e.g. after the token expired) reuses the device: still 2 devices (signUp's and this one)
    await browser.signIn(user.email, 'correct horse battery');
    expect(browser.storage.get('tessera.graphiql.deviceId')).toBe(deviceId);
    const devices = (await gql(srv.url, '{ devices { id name } }', {}, user.token)).data.devices;
    expect(devices).toHaveLength(2);
    expect(devices.map((d: { id: string }) => d.id)).toContain(deviceId);

    // a new visit with the saved token is signed in at once
    const revisit = fakeBrowser(srv.url, script, browser.storage);
    await revisit.settle();
    expect(revisit.status.textContent).toMatch(/^signed in as /);
  });

  it('signIn(deviceId): only a live device of this user is reused; otherwise a new one is made', async () => {
    const a = await signUp(srv.url);
    const b = await signUp(srv.url);
    const SIGNIN = 'mutation($e: String!, $d: String) { signIn(email: $e, password: "correct horse battery", deviceId: $d) { device { id } } }';
    const first = (await gql(srv.url, SIGNIN, { e: a.email, d: null })).data.signIn.device.id;
    expect((await gql(srv.url, SIGNIN, { e: a.email, d: first })).data.signIn.device.id).toBe(first);
    // b cannot take over a's device
    expect((await gql(srv.url, SIGNIN, { e: b.email, d: first })).data.signIn.device.id).not.toBe(first);
    // a signed-out device is not revived
    const t = (await gql(srv.url, 'mutation($e: String!, $d: String) { signIn(email: $e, password: "correct horse battery", deviceId: $d) { token } }', { e: a.email, d: first })).data.signIn.token;
    expect((await gql(srv.url, 'mutation { signOut }', {}, t)).data.signOut).toBe(true);
    expect((await gql(srv.url, SIGNIN, { e: a.email, d: first })).data.signIn.device.id).not.toBe(first);
    expect((await gql(srv.url, SIGNIN, { e: a.email, d: 'not-a-uuid' })).data.signIn.device.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

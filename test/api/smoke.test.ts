import { startTestServer, type TestServer } from '../helpers/server';

let srv: TestServer;
beforeAll(async () => { srv = await startTestServer({ db: 'sqlite' }); });
afterAll(async () => { await srv?.stop(); });

test('signUp then me', async () => {
  const gql = async (query: string, variables: object = {}, token?: string) => {
    const r = await fetch(`${srv.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query, variables }) });
    return r.json();
  };
  const up = await gql('mutation { signUp(email: "a@b.co", password: "password1") { token user { id email } } }');
  expect(up.errors).toBeUndefined();
  const me = await gql('{ me { email } }', {}, up.data.signUp.token);
  expect(me.data.me.email).toBe('a@b.co');
  const anon = await gql('{ me { email } }');
  expect(anon.errors[0].extensions.code).toBe('UNAUTHENTICATED');
});

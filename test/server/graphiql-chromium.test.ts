/**
 * The GraphiQL page in real Chromium (Debian's, driven by playwright-core): the sign-in bar signs
 * in, GraphiQL then runs a query with the Authorization header, a reload keeps the sign-in, signing
 * in again reuses this browser's device, and signing out ends that device on the server. The page
 * loads nothing from the internet (every request goes to the test server) and logs no console
 * error.
 */
import { gql, signUp } from '../helpers/gql';
import { until } from '../helpers/wait';
import { startTestServer, type TestServer } from '../helpers/server';
import { expectNoConsoleErrors, launch, openPage, screenshot, type TestPage } from '../web/browser';

jest.setTimeout(120_000);

describe('GraphiQL in Chromium', () => {
  let srv: TestServer;
  let chrome: Awaited<ReturnType<typeof launch>>;
  beforeAll(async () => {
    srv = await startTestServer();
    chrome = await launch();
  });
  afterAll(async () => {
    await chrome?.close();
    await srv?.stop();
  });

  async function signInOnPage(p: TestPage, email: string, password: string): Promise<string> {
    await p.page.locator('#tessera-signin input[name="email"]').fill(email);
    await p.page.locator('#tessera-signin input[name="password"]').fill(password);
    await p.page.locator('#tessera-signin [type="submit"]').click();
    const status = p.page.locator('#tessera-signin-status');
    await status.filter({ hasNotText: /signing in/ }).waitFor();
    return (await status.textContent()) ?? '';
  }

  /** Runs the editor's query (the page's default asks for `me { email … }`) and returns the response pane's text. */
  async function runQuery(p: TestPage): Promise<string> {
    await p.page.locator('.graphiql-execute-button').click();
    const response = p.page.locator('.graphiql-response');
    await response.filter({ hasText: /"data"|"errors"/ }).waitFor();
    return (await response.textContent()) ?? '';
  }

  it('signs in from the page, runs a query with the header, keeps the sign-in over a reload, reuses the device, signs out', async () => {
    const user = await signUp(srv.url);
    const foreign: string[] = [];
    const p = await openPage(chrome.browser, 'about:blank');
    p.page.on('request', (r) => { if (!r.url().startsWith(srv.url) && !r.url().startsWith('ws://') && !/^(data|about|blob):/.test(r.url())) foreign.push(r.url()); });
    await p.page.goto(`${srv.url}/graphql`);
    await p.page.locator('.graphiql-container').waitFor();
    await expectStatus(p, /^not signed in$/);

    // unauthenticated, the query is refused with a code, not a crash of the page
    expect(await runQuery(p)).toMatch(/UNAUTHENTICATED/);

    expect(await signInOnPage(p, user.email, 'wrong password!')).toMatch(/^sign-in failed: wrong email or password/);
    expect(await signInOnPage(p, user.email, 'correct horse battery')).toMatch(/^signed in as /);
    await p.page.locator('.graphiql-container').waitFor();
    const answer = await runQuery(p);
    expect(answer).toContain(user.email);
    expect(answer).not.toMatch(/UNAUTHENTICATED/);
    await screenshot(p.page, 'graphiql-signed-in');

    const deviceId = await p.page.evaluate(() => localStorage.getItem('tessera.graphiql.deviceId'));
    expect(deviceId).toMatch(/^[0-9a-f-]{36}$/);
    const devicesAfterFirst = (await gql(srv.url, '{ devices { id revokedAt } }', {}, user.token)).data.devices;
    expect(devicesAfterFirst).toHaveLength(2); // signUp's and this browser's

    // a reload keeps the sign-in; the query still carries the token
    await p.page.reload();
    await expectStatus(p, /^signed in as /);
    expect(await runQuery(p)).toContain(user.email);

    // signing in again (e.g. after the token expired) reuses this browser's device
    expect(await signInOnPage(p, user.email, 'correct horse battery')).toMatch(/^signed in as /);
    const devicesAfterSecond = (await gql(srv.url, '{ devices { id revokedAt } }', {}, user.token)).data.devices;
    expect(devicesAfterSecond).toHaveLength(2);
    expect(devicesAfterSecond.map((d: { id: string }) => d.id)).toContain(deviceId);

    // signing out ends the device on the server and forgets the token here
    await p.page.locator('#tessera-signout').click();
    await expectStatus(p, /^not signed in$/);
    await until(async () => (await gql(srv.url, '{ devices { id revokedAt } }', {}, user.token)).data.devices
      .find((d: { id: string }) => d.id === deviceId)?.revokedAt != null, 5000, 'the device to be signed out');
    expect(await p.page.evaluate(() => localStorage.getItem('tessera.graphiql.token'))).toBeNull();
    expect(await runQuery(p)).toMatch(/UNAUTHENTICATED/);

    expect(foreign).toEqual([]);
    expectNoConsoleErrors(p);
    await p.context.close();
  });

  async function expectStatus(p: TestPage, re: RegExp): Promise<void> {
    await p.page.locator('#tessera-signin-status').filter({ hasText: re }).waitFor({ timeout: 10_000 });
  }
});

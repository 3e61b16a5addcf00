import crypto from 'node:crypto';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { Device as DeviceEntity } from '../../src/entities';
import { freshDatabase, testDatabases, type TestDatabase } from '../helpers/db';
import { SESSION_FIELDS, beginInput, codeOf, gql, prepare } from '../helpers/gql';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';

// "Sign out my lost phone": list your devices, revoke one (or sign this one out). A revoked device's
// next request is UNAUTHENTICATED and its open subscriptions end at once. Every server here polls
// the journal only every 10 minutes, so only the revocation event can end a feed within the test.
const NO_POLL = 600_000;
const PROMPT_MS = 2000;

const DEVICES = '{ devices { id name current createdAt revokedAt lastSeenAt } }';
const CHANGES = 'subscription($c: String) { changes(cursor: $c) { path } }';
const PROGRESS = 'subscription($s: ID!) { uploadProgress(sessionId: $s) { status } }';
const PASSWORD = 'correct horse battery';

interface Device { token: string; deviceId: string }
interface Account extends Device { userId: string; email: string }


/** A graphql-ws subscription as a client holds it: what arrived, its errors, and when it ended. */
interface Sub { got: unknown[]; errors: unknown[]; endedAt: number | null; client: Client }
function subscribe(url: string, token: string, query: string, variables: Record<string, unknown>): Sub {
  const client = createClient({ url: url.replace('http', 'ws') + '/graphql', webSocketImpl: WebSocket, connectionParams: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const sub: Sub = { got: [], errors: [], endedAt: null, client };
  client.subscribe({ query, variables }, {
    next: (v) => { if (v.errors) sub.errors.push(...v.errors); else sub.got.push(v.data); },
    error: (e) => { sub.errors.push(e); sub.endedAt ??= Date.now(); },
    complete: () => { sub.endedAt ??= Date.now(); },
  });
  return sub;
}
const codes = (sub: Sub) => sub.errors.map((e: any) => e?.extensions?.code ?? (Array.isArray(e) ? e[0]?.extensions?.code : 'NO_CODE'));

let n = 0;
async function account(url: string): Promise<Account> {
  const email = `d${Date.now()}-${n++}@example.com`;
  const r = await gql(url, 'mutation($e: String!, $p: String!) { signUp(email: $e, password: $p, deviceName: "laptop") { token user { id } device { id current revokedAt createdAt } } }', { e: email, p: PASSWORD });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  expect(r.data.signUp.device).toMatchObject({ current: true, revokedAt: null });
  expect(Number.isNaN(Date.parse(r.data.signUp.device.createdAt))).toBe(false);
  return { token: r.data.signUp.token, userId: r.data.signUp.user.id, deviceId: r.data.signUp.device.id, email };
}
async function signIn(url: string, who: Account, deviceName: string): Promise<Device> {
  const r = await gql(url, 'mutation($e: String!, $p: String!, $d: String) { signIn(email: $e, password: $p, deviceName: $d) { token device { id name current } } }', { e: who.email, p: PASSWORD, d: deviceName });
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  expect(r.data.signIn.device).toMatchObject({ name: deviceName, current: true });
  return { token: r.data.signIn.token, deviceId: r.data.signIn.device.id };
}
/** An ACTIVE upload session of `who` (nothing PUT yet). */
async function uploadSession(url: string, token: string, path: string): Promise<string> {
  const r = await gql(url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(path, prepare(crypto.randomBytes(100), 8 * 1024 * 1024)) }, token);
  if (r.errors) throw new Error(JSON.stringify(r.errors));
  return r.data.beginUpload.id;
}

describe.each(testDatabases)('devices on %s', (db) => {
  let srv: TestServer;
  const clients: Client[] = [];
  beforeAll(async () => { srv = await startTestServer({ db, config: { livePollMs: NO_POLL } }); });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    await srv?.stop();
  });
  const follow = (token: string, query: string, variables: Record<string, unknown>) => {
    const sub = subscribe(srv.url, token, query, variables);
    clients.push(sub.client);
    return sub;
  };
  const devices = async (token: string) => {
    const r = await gql(srv.url, DEVICES, {}, token);
    if (r.errors) throw new Error(JSON.stringify(r.errors));
    return r.data.devices as { id: string; name: string; current: boolean; createdAt: string; revokedAt: string | null; lastSeenAt: string | null }[];
  };
  const byName = <T extends { name: string }>(list: T[]) => [...list].sort((a, b) => a.name.localeCompare(b.name));

  test('devices lists your devices (not anyone else\'s), the asking one marked current', async () => {
    const alice = await account(srv.url);
    const phone = await signIn(srv.url, alice, 'phone');
    const bob = await account(srv.url);

    const fromLaptop = await devices(alice.token);
    expect(byName(fromLaptop).map(({ id, name, current, revokedAt }) => ({ id, name, current, revokedAt }))).toEqual([
      { id: alice.deviceId, name: 'laptop', current: true, revokedAt: null },
      { id: phone.deviceId, name: 'phone', current: false, revokedAt: null },
    ]);
    expect(fromLaptop.every((d) => !Number.isNaN(Date.parse(d.createdAt)))).toBe(true);
    // newest first (SQLite keeps whole seconds: equal times may come in either order)
    expect(Date.parse(fromLaptop[0].createdAt)).toBeGreaterThanOrEqual(Date.parse(fromLaptop[1].createdAt));
    const fromPhone = await devices(phone.token);
    expect(fromPhone.filter((d) => d.current).map((d) => d.id)).toEqual([phone.deviceId]);
    expect((await devices(bob.token)).map((d) => d.id)).toEqual([bob.deviceId]);
    expect(codeOf(await gql(srv.url, DEVICES))).toBe('UNAUTHENTICATED');
  });

  test('revoking the other device: its next request is UNAUTHENTICATED and its open subscriptions end at once', async () => {
    const alice = await account(srv.url);
    const phone = await signIn(srv.url, alice, 'phone');
    const cursor = (await gql(srv.url, '{ latestCursor }', {}, phone.token)).data.latestCursor;
    const sessionId = await uploadSession(srv.url, alice.token, '/watched.bin');
    const phoneFeed = follow(phone.token, CHANGES, { c: cursor });
    const phoneProgress = follow(phone.token, PROGRESS, { s: sessionId });
    const laptopFeed = follow(alice.token, CHANGES, { c: cursor });
    // all three live: a change reaches both feeds, the progress snapshot has come
    await gql(srv.url, 'mutation { createFolder(path: "/before") { id } }', {}, alice.token);
    await until(() => phoneFeed.got.length === 1 && laptopFeed.got.length === 1 && phoneProgress.got.length === 1, 5000, 'subscriptions live');

    const t0 = Date.now();
    const r = await gql(srv.url, 'mutation($d: ID!) { revokeDevice(id: $d) }', { d: phone.deviceId }, alice.token);
    expect(r).toEqual({ data: { revokeDevice: true } });
    expect(codeOf(await gql(srv.url, '{ me { id } }', {}, phone.token))).toBe('UNAUTHENTICATED');
    await until(() => phoneFeed.endedAt !== null && phoneProgress.endedAt !== null, PROMPT_MS, 'the phone\'s subscriptions to end');
    expect(Math.max(phoneFeed.endedAt!, phoneProgress.endedAt!) - t0).toBeLessThan(PROMPT_MS);
    expect(codes(phoneFeed)).toEqual(['UNAUTHENTICATED']);
    expect(codes(phoneProgress)).toEqual(['UNAUTHENTICATED']);

    // the laptop is untouched: still signed in, its feed still live; the phone shows as signed out
    await gql(srv.url, 'mutation { createFolder(path: "/after") { id } }', {}, alice.token);
    await until(() => laptopFeed.got.length === 2, 5000, 'the laptop feed');
    expect(laptopFeed.endedAt).toBeNull();
    expect(phoneFeed.got).toEqual([{ changes: { path: '/before' } }]);
    const list = byName(await devices(alice.token));
    expect(list.map((d) => [d.name, d.current, d.revokedAt !== null])).toEqual([['laptop', true, false], ['phone', false, true]]);
    // the phone cannot subscribe again either; revoking it again changes nothing
    const again = follow(phone.token, CHANGES, { c: cursor });
    await until(() => again.endedAt !== null, 5000, 'refusal');
    expect(codes(again)).toEqual(['UNAUTHENTICATED']);
    expect((await gql(srv.url, 'mutation($d: ID!) { revokeDevice(id: $d) }', { d: phone.deviceId }, alice.token)).data.revokeDevice).toBe(false);
    expect(byName(await devices(alice.token))[1].revokedAt).toBe(list[1].revokedAt);
  });

  test('lastSeenAt follows use to the minute: set at sign-in, written again only once it is a minute old', async () => {
    const alice = await account(srv.url);
    const seen = async () => (await devices(alice.token)).find((d) => d.current)!.lastSeenAt!;
    const first = await seen();
    expect(Date.now() - Date.parse(first)).toBeLessThan(60_000);
    expect(await seen()).toBe(first); // within the minute: no write
    const repo = srv.app.services.ds.getRepository(DeviceEntity);
    const old = new Date(Date.now() - 5 * 60_000);
    await repo.update({ id: alice.deviceId }, { lastSeenAt: old });
    const later = await seen(); // this request is older than a minute's resolution: recorded
    expect(Date.parse(later)).toBeGreaterThan(old.getTime() + 4 * 60_000);
  });

  test("revoking someone else's device (or an unknown one) is NOT_FOUND and changes nothing", async () => {
    const alice = await account(srv.url);
    const phone = await signIn(srv.url, alice, 'phone');
    const mallory = await account(srv.url);
    const feed = follow(phone.token, CHANGES, { c: null });
    for (const id of [phone.deviceId, alice.deviceId, crypto.randomUUID(), 'not-a-device']) {
      expect(codeOf(await gql(srv.url, 'mutation($d: ID!) { revokeDevice(id: $d) }', { d: id }, mallory.token))).toBe('NOT_FOUND');
    }
    expect(codeOf(await gql(srv.url, 'mutation($d: ID!) { revokeDevice(id: $d) }', { d: crypto.randomUUID() }, alice.token))).toBe('NOT_FOUND');
    expect((await gql(srv.url, '{ me { id } }', {}, phone.token)).data.me.id).toBe(alice.userId);
    expect((await devices(alice.token)).every((d) => d.revokedAt === null)).toBe(true);
    await gql(srv.url, 'mutation { createFolder(path: "/still") { id } }', {}, alice.token);
    await until(() => feed.got.length === 1, 5000, 'the phone feed');
    expect(feed.endedAt).toBeNull();
    expect(codeOf(await gql(srv.url, 'mutation($d: ID!) { revokeDevice(id: $d) }', { d: phone.deviceId }))).toBe('UNAUTHENTICATED');
  });

  test('signOut signs out the asking device only, and ends its subscriptions at once', async () => {
    const alice = await account(srv.url);
    const phone = await signIn(srv.url, alice, 'phone');
    const feed = follow(phone.token, CHANGES, { c: null });
    await gql(srv.url, 'mutation { createFolder(path: "/x") { id } }', {}, alice.token);
    await until(() => feed.got.length === 1, 5000, 'the phone feed');
    const t0 = Date.now();
    expect(await gql(srv.url, 'mutation { signOut }', {}, phone.token)).toEqual({ data: { signOut: true } });
    await until(() => feed.endedAt !== null, PROMPT_MS, 'the feed to end');
    expect(feed.endedAt! - t0).toBeLessThan(PROMPT_MS);
    expect(codes(feed)).toEqual(['UNAUTHENTICATED']);
    expect(codeOf(await gql(srv.url, 'mutation { signOut }', {}, phone.token))).toBe('UNAUTHENTICATED');
    expect((await gql(srv.url, '{ me { id } }', {}, alice.token)).data.me.id).toBe(alice.userId);
    const list = byName(await devices(alice.token));
    expect(list.map((d) => [d.name, d.revokedAt !== null])).toEqual([['laptop', false], ['phone', true]]);
  });
});

// Several API instances: the phone's feed is served by instance A, the laptop revokes it through
// instance B; the event travels through Redis and A ends the feed at once.
describe('revocation across two API instances sharing MariaDB and Redis', () => {
  let db: TestDatabase;
  const servers: TestServer[] = [];
  const clients: Client[] = [];
  beforeAll(async () => { db = await freshDatabase('mariadb'); });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.dispose()));
    for (const s of servers) await s.stop();
    await db?.drop();
  });

  test('a feed on instance A ends within moments of its device being revoked through instance B', async () => {
    const config = { redisUrl: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379', livePollMs: NO_POLL };
    const a = await startTestServer({ databaseUrl: db.url, config });
    servers.push(a);
    const b = await startTestServer({ databaseUrl: db.url, config });
    servers.push(b);
    const alice = await account(b.url);
    const phone = await signIn(a.url, alice, 'phone');
    const sessionId = await uploadSession(a.url, alice.token, '/x.bin');
    const feed = subscribe(a.url, phone.token, CHANGES, { c: null });
    const progress = subscribe(a.url, phone.token, PROGRESS, { s: sessionId });
    clients.push(feed.client, progress.client);
    await gql(b.url, 'mutation { createFolder(path: "/from-b") { id } }', {}, alice.token);
    await until(() => feed.got.length === 1 && progress.got.length === 1, 5000, 'subscriptions live');

    const t0 = Date.now();
    expect((await gql(b.url, 'mutation($d: ID!) { revokeDevice(id: $d) }', { d: phone.deviceId }, alice.token)).data.revokeDevice).toBe(true);
    await until(() => feed.endedAt !== null && progress.endedAt !== null, PROMPT_MS, 'the feeds on A to end');
    expect(Math.max(feed.endedAt!, progress.endedAt!) - t0).toBeLessThan(PROMPT_MS);
    expect(codes(feed)).toEqual(['UNAUTHENTICATED']);
    expect(codes(progress)).toEqual(['UNAUTHENTICATED']);
    expect(codeOf(await gql(a.url, '{ me { id } }', {}, phone.token))).toBe('UNAUTHENTICATED');
  }, 30_000);
});

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../clients/cli/main';
import type { ChangeInfo } from '../../clients/sdk/changes';
import { TesseraClient } from '../../clients/sdk/client';
import { Change } from '../../src/entities';
import { cliIo } from '../helpers/cli';
import { startTestServer, type TestServer } from '../helpers/server';
import { until } from '../helpers/wait';

/** A TCP proxy in front of the server whose open connections can all be cut at once. */
async function cuttableProxy(target: string) {
  const url = new URL(target);
  const open = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(Number(url.port), url.hostname);
    open.add(client).add(upstream);
    const close = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.pipe(upstream).on('error', close);
    upstream.pipe(client).on('error', close);
    client.on('close', close).on('error', close);
    upstream.on('close', close);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    accepted: () => accepted,
    cutAll: () => { for (const s of open) s.resetAndDestroy(); },
    close: () => { for (const s of open) s.destroy(); return new Promise((r) => server.close(r)); },
  };
}

const brief = (c: ChangeInfo) => `${c.kind} ${c.path}${c.fromPath ? ` <- ${c.fromPath}` : ''}`;

describe('the change feed in the SDK and the CLI (real server, HTTP and graphql-ws)', () => {
  let server: TestServer;
  let dir: string;
  const ac = new AbortController();

  beforeAll(async () => {
    server = await startTestServer();
    dir = await mkdtemp(join(tmpdir(), 'tessera-feed-'));
  });
  afterAll(async () => {
    ac.abort();
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function account(deviceName = 'laptop') {
    const client = new TesseraClient({ server: server.url });
    const email = `feed-${randomBytes(6).toString('hex')}@example.com`;
    const auth = await client.signUp(email, 'correct horse battery', { deviceName });
    return { client, email, auth };
  }

  it('pages every change once, in order, with the file as it is now and the device that made it', async () => {
    const { client, auth } = await account();
    const start = await client.latestCursor();
    await client.createFolder('/docs');
    const src = join(dir, 'a.txt');
    await writeFile(src, 'hello');
    await client.upload(src, '/docs/a.txt');
    await client.moveFile('/docs/a.txt', '/docs/b.txt');
    await client.deleteFile('/docs/b.txt');

    const all = await client.changes(start);
    expect(all.hasMore).toBe(false);
    expect(all.changes.map(brief)).toEqual(['CREATED /docs', 'CREATED /docs/a.txt', 'MOVED /docs/b.txt <- /docs/a.txt', 'DELETED /docs/b.txt']);
    expect(all.changes.every((c) => c.deviceId === auth.device.id)).toBe(true);
    expect(all.changes[1].file).toMatchObject({ path: '/docs/b.txt', status: 'DELETED', owner: { id: auth.user.id } });

    const paged: ChangeInfo[] = [];
    let cursor = start;
    for (;;) {
      const page = await client.changes(cursor, 1);
      paged.push(...page.changes);
      cursor = page.cursor;
      if (!page.hasMore) break;
    }
    expect(paged.map((c) => c.cursor)).toEqual(all.changes.map((c) => c.cursor));
    expect(cursor).toBe(all.cursor);
    expect((await client.changes(all.cursor)).changes).toEqual([]);
  });

  it('watches: replays after the cursor, streams live, and resumes after a cut connection without missing or repeating', async () => {
    const { client } = await account();
    const proxy = await cuttableProxy(server.url);
    try {
      const watcher = new TesseraClient({ server: proxy.url, token: client.token });
      const start = await client.latestCursor();
      await client.createFolder('/before');
      const seen: ChangeInfo[] = [];
      const reconnects: number[] = [];
      const stop = new AbortController();
      const done = (async () => {
        for await (const c of watcher.watchChanges({ cursor: start, signal: stop.signal, onReconnect: (n) => reconnects.push(n) })) seen.push(c);
      })();
      await until(() => seen.length === 1);
      await client.createFolder('/live1');
      await until(() => seen.length === 2);

      proxy.cutAll();
      await client.createFolder('/while-cut');
      await until(() => reconnects.length >= 1);
      await client.createFolder('/after-cut');
      await until(() => seen.length >= 4, 15_000);

      stop.abort();
      await done; // an aborted watch returns, it does not throw
      expect(seen.map(brief)).toEqual(['CREATED /before', 'CREATED /live1', 'CREATED /while-cut', 'CREATED /after-cut']);
      expect(proxy.accepted()).toBeGreaterThanOrEqual(2);
    } finally {
      await proxy.close();
    }
  });

  it('says RESET for a cursor older than the journal keeps, in pages and in a watch', async () => {
    const { client, auth } = await account();
    await client.createFolder('/old');
    const old = (await client.changes()).cursor;
    await client.createFolder('/older-than-retention');
    await server.app.services.ds.getRepository(Change).update({ namespaceId: auth.user.id }, { at: new Date(Date.now() - 400 * 86400_000) });
    await client.createFolder('/new');
    await server.app.services.journal.prune(new Date(Date.now() - 180 * 86400_000));

    await expect(client.changes(old)).rejects.toMatchObject({ code: 'RESET' });
    const watch = client.watchChanges({ cursor: old, signal: ac.signal });
    await expect(watch.next()).rejects.toMatchObject({ code: 'RESET' });
    const fresh = await client.latestCursor();
    expect((await client.changes(fresh)).changes).toEqual([]);
  });

  it('ends a watch with UNAUTHENTICATED when its device is signed out', async () => {
    const { client, email } = await account('phone');
    const other = new TesseraClient({ server: server.url });
    await other.signIn(email, 'correct horse battery', { deviceName: 'laptop' });
    const watch = client.watchChanges({ signal: ac.signal });
    const first = watch.next();
    await other.createFolder('/seen');
    expect(brief((await first).value as ChangeInfo)).toBe('CREATED /seen');
    const phone = (await other.devices()).find((d) => d.name === 'phone')!;
    await other.revokeDevice(phone.id);
    await expect(watch.next()).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('`tessera changes` prints one line per change and the cursor to continue from', async () => {
    const io = () => cliIo({ TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: join(dir, 'cli') }, dir);
    const email = `cli-${randomBytes(6).toString('hex')}@example.com`;
    expect(await main(['signup', '--email', email, '--password', 'correct horse battery'], io())).toBe(0);
    expect(await main(['mkdir', '/x'], io())).toBe(0);
    let out = io();
    expect(await main(['changes'], out)).toBe(0);
    expect(out.out()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}CREATED {3}\/x\/ {2}rev \d+\n$/);
    const cursor = /^cursor: (\S+)\n$/.exec(out.err())![1];
    expect(await main(['mv', '/x', '/y'], io())).toBe(0);
    out = io();
    expect(await main(['changes', '--cursor', cursor], out)).toBe(0);
    expect(out.out()).toContain('MOVED     /y/  (from /x)');
    expect(out.out().trim().split('\n')).toHaveLength(1);
    out = io();
    expect(await main(['changes', '--limit', '0'], out)).toBe(1);
  });
});

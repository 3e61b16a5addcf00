/**
 * Transfers beyond the single file, in headless Chromium against a real server, on the local
 * store and on S3 (Ceph RGW; TEST_WEB_STORES=local narrows it):
 * - a folder uploaded by the SDK downloads from the app as ONE zip, streamed by the server
 *   (`File.zipUrl` → /zip/<token>); every entry's bytes equal its source (unzip -t, then
 *   extracted by Python's zipfile and compared), and the zip URL stops working once this device signs out;
 * - Cancel in the upload panel aborts the server's upload session (abortUpload): the session
 *   is ABORTED and the user's quota reservation is back to 0;
 * - an SDK upload paused mid-way (another device) shows in the open page with its progress,
 *   live (`uploadProgress`), and leaves the panel when that device completes it.
 * Fails on any console error.
 */
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Route } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { User } from '../../src/entities';
import { multiPart } from '../helpers/cdc-data';
import { type TestServer } from '../helpers/server';
import { expectNoConsoleErrors, useChromium, row, screenshot, type TestPage } from './browser';
import { startWebSession, WEB_STORES, type WebSession } from './session';

jest.setTimeout(180_000);

const MIB = 1024 * 1024;
const chromium = useChromium();

describe.each(WEB_STORES)('on the %s store', (store) => {
  let session: WebSession;
  let server: TestServer;
  let tmp: string;
  let p: TestPage;
  let sdk: TesseraClient;
  let email: string;
  /** Part PUTs of the page go here: this server's /blobs, or RGW. */
  let partGlob: string;

  beforeAll(async () => {
    session = await startWebSession(chromium.browser, store, 'webx');
    ({ server, tmp, page: p, sdk, email } = session);
    partGlob = `${session.partOrigin}**`;
  });

  afterAll(async () => { await session?.end(); });

  afterEach(() => expectNoConsoleErrors(p));

  test('a folder downloads as one zip whose entries equal the sources', async () => {
    const { page } = p;
    const src = path.join(tmp, 'Trip');
    const files = new Map<string, Buffer>([
      ['notes.txt', Buffer.from('day one: rain\n')],
      ['empty.txt', Buffer.alloc(0)],
      ['photos/a.jpg', crypto.randomBytes(300_000)],
      ['photos/raw/b.raw', crypto.randomBytes(9 * MIB + 777)], // more than one part
      ['Ünïcode name.md', Buffer.from('# ü\n')],
    ]);
    for (const [rel, b] of files) {
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      fs.writeFileSync(path.join(src, rel), b);
    }
    await sdk.uploadTree(src, '/Trip');
    await row(page, 'Trip').waitFor(); // live, through the changes feed
    const [download] = await Promise.all([page.waitForEvent('download'), row(page, 'Trip').getByRole('button', { name: 'Download Trip as zip' }).click()]);
    expect(download.suggestedFilename()).toBe('Trip.zip');
    const zip = path.join(tmp, 'Trip.zip');
    await download.saveAs(zip);
    const tested = spawnSync('unzip', ['-tq', zip], { encoding: 'utf8' });
    expect(tested.status).toBe(0);
    const out = path.join(tmp, 'unzipped');
    // Python's zipfile honours the UTF-8 name flag (Debian's unzip recodes names by locale) and checks each CRC
    expect(spawnSync('python3', ['-m', 'zipfile', '-e', zip, out]).status).toBe(0);
    const found = listFiles(out);
    expect(found.sort()).toEqual([...files.keys()].sort());
    for (const [rel, b] of files) expect(fs.readFileSync(path.join(out, rel)).equals(b)).toBe(true);

    // the URL checks access when opened: a signed-out device's zip URL answers 404 (an HTML page)
    const url = (await page.evaluate(async (id) => {
      const r = await fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${localStorage.getItem('tessera.token')}` },
        body: JSON.stringify({ query: 'query($id: ID!) { file(id: $id) { zipUrl } }', variables: { id } }) });
      return (await r.json()).data.file.zipUrl as string;
    }, (await sdk.fileByPath('/Trip'))!.id));
    expect(url).toMatch(/^\/zip\//);
    const other = new TesseraClient({ server: server.url });
    await other.signIn(email, 'correct horse battery', { deviceName: 'throwaway' });
    const otherUrl = await zipUrlOf(other, '/Trip');
    expect((await fetch(server.url + otherUrl)).status).toBe(200);
    await other.signOut();
    const refused = await fetch(server.url + otherUrl, { headers: { accept: 'text/html' } });
    expect(refused.status).toBe(404);
    expect(refused.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await refused.text()).toContain('Download not available');
    const forged = await fetch(server.url + otherUrl.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    expect(forged.status).toBe(404);
  });

  test('Cancel in the upload panel aborts the server session and releases its reservation', async () => {
    const { page } = p;
    // hold every part PUT after the first, so the upload is mid-way when cancelled
    const held: Route[] = [];
    let passed = 0;
    await page.route(partGlob, async (route) => {
      if (route.request().method() !== 'PUT' || passed < 1) {
        if (route.request().method() === 'PUT') passed++;
        return route.continue();
      }
      held.push(route);
    });
    const sessions: string[] = [];
    const onResponse = async (r: import('playwright-core').Response) => {
      if (!r.url().endsWith('/graphql') || r.request().method() !== 'POST') return;
      const body = await r.json().catch(() => null);
      const id = body?.data?.beginUpload?.id;
      if (id) sessions.push(id);
    };
    page.on('response', onResponse);
    const bytes = multiPart('web-cancel', 24 * MIB + 5).data; // at least 3 content-defined parts: one sent, the rest held
    await page.getByTestId('file-input').setInputFiles({ name: 'doomed.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await until(() => held.length > 0, 60_000);
    expect(sessions).toHaveLength(1);
    expect(await reservedBytes(server)).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Cancel doomed.bin' }).click();
    await page.locator('li[data-upload="doomed.bin"][data-phase="cancelled"]').waitFor();
    await until(async () => (await sessionStatus(sdk, sessions[0])) === 'ABORTED', 10_000);
    expect(await reservedBytes(server)).toBe(0);
    page.off('response', onResponse);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    for (const r of held) await r.abort().catch(() => undefined);
    expect(await sdk.fileByPath('/doomed.bin')).toBeNull();
  });

  test('an SDK upload on another device, paused mid-way, shows its progress live in the open page', async () => {
    const { page } = p;
    const bytes = crypto.randomBytes(24 * MIB); // 3 parts
    const local = path.join(tmp, 'remote.bin');
    fs.writeFileSync(local, bytes);
    const laptop = new TesseraClient({ server: server.url });
    await laptop.signIn(email, 'correct horse battery', { deviceName: 'laptop' });
    // part PUTs of the laptop: the first goes through, each later one waits for its gate
    const gates = [gate(), gate(), gate()];
    let puts = 0;
    const held: typeof fetch = async (input, init) => {
      const n = puts++;
      if (n > 0) await gates[n].opened;
      return fetch(input, init);
    };
    const upload = laptop.upload(local, '/remote.bin', { concurrency: 1, confirmBatchSize: 1, fetch: held, fixedParts: true }); // 3 parts of 8 MiB
    const entry = page.locator('li[data-remote-upload="/remote.bin"]');
    await page.locator('li[data-remote-upload="/remote.bin"][data-percent="33"]').waitFor({ timeout: 15_000 });
    expect(await entry.textContent()).toContain('8.0 MB of 24 MB');
    await screenshot(page, `${store}-remote-upload`);
    gates[1].open();
    await page.locator('li[data-remote-upload="/remote.bin"][data-percent="66"]').waitFor({ timeout: 10_000 });
    gates[2].open();
    await upload;
    await entry.waitFor({ state: 'detached', timeout: 10_000 });
    await row(page, 'remote.bin').waitFor();
    expect((await sdk.fileByPath('/remote.bin'))!.size).toBe(String(24 * MIB));
  });
});

/** A promise that resolves when `open()` is called. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => { open = r; });
  return { opened, open };
}

/** Resolves once `ok()` holds; throws after `ms`. */
async function until(ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file under `dir`, relative, '/'-separated. */
function listFiles(dir: string, rel = ''): string[] {
  return fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((d) => {
    const r = rel ? `${rel}/${d.name}` : d.name;
    return d.isDirectory() ? listFiles(dir, r) : [r];
  });
}

async function zipUrlOf(client: TesseraClient, remote: string): Promise<string> {
  const id = (await client.fileByPath(remote))!.id;
  const r = await client.api.request<{ file: { zipUrl: string } }>('query($id: ID!) { file(id: $id) { zipUrl } }', { id });
  return r.file.zipUrl;
}

async function sessionStatus(client: TesseraClient, id: string): Promise<string | null> {
  const r = await client.api.request<{ uploadSession: { status: string } | null }>('query($id: ID!) { uploadSession(id: $id) { status } }', { id });
  return r.uploadSession?.status ?? null;
}

/** The one user's reserved bytes, read from the database. */
async function reservedBytes(server: TestServer): Promise<number> {
  const users = await server.app.services.ds.getRepository(User).find();
  return users.reduce((s, u) => s + Number(u.reservedBytes), 0);
}

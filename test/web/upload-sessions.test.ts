/**
 * The page and the server's upload sessions, in headless Chromium against a real server, on the
 * local store and on S3 (Ceph RGW; TEST_WEB_STORES=local narrows it):
 * - Cancel pressed while the page's beginUpload is in flight (its answer held back with
 *   Playwright's route interception, released only after the cancel): the session the server
 *   began is aborted as soon as the answer arrives; no ACTIVE session is left for the user.
 * - An upload begun by another device (the SDK) is pushed to the open page by the
 *   `activeUploads` subscription and shows in its panel within 1 s of that beginUpload's
 *   answer; the page never asks the activeUploads query (no polling).
 * Fails on any console error.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Request, Route } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { UploadSession } from '../../src/entities';
import { expectNoConsoleErrors, useChromium, type TestPage } from './browser';
import { startWebSession, WEB_STORES, type WebSession } from './session';

jest.setTimeout(180_000);

const MIB = 1024 * 1024;
const chromium = useChromium();

describe.each(WEB_STORES)('on the %s store', (store) => {
  let session: WebSession;
  let p: TestPage;
  beforeAll(async () => {
    session = await startWebSession(chromium.browser, store, 'websess');
    p = session.page;
  });
  afterAll(async () => { await session?.end(); });
  afterEach(() => expectNoConsoleErrors(p));

  const activeIds = async (sdk: TesseraClient) =>
    (await sdk.api.request<{ activeUploads: { id: string }[] }>('query { activeUploads(first: 100) { id } }')).activeUploads.map((s) => s.id);

  test('Cancel while beginUpload is in flight: the session it began is aborted, none left ACTIVE', async () => {
    const { page } = p;
    const answered = gate();
    const release = gate();
    let sessionId: string | undefined;
    // the server gets the beginUpload at once (its session exists); the page gets the answer only after the cancel
    await page.route('**/graphql', async (route: Route) => {
      const body = route.request().postData() ?? '';
      if (route.request().method() !== 'POST' || !/beginUploads?\(/.test(body)) return route.fallback();
      const response = await route.fetch();
      sessionId = (await response.json())?.data?.beginUpload?.id;
      answered.open();
      await release.opened;
      await route.fulfill({ response }).catch(() => undefined); // a page that gave the request up takes no answer
    });
    const aborts: Promise<unknown>[] = [];
    const onRequest = (r: Request) => { if (/abortUpload\(/.test(r.postData() ?? '')) aborts.push(r.response()); };
    page.on('request', onRequest);
    await page.getByTestId('file-input').setInputFiles({ name: 'hesitant.bin', mimeType: 'application/octet-stream', buffer: crypto.randomBytes(200_000) });
    await answered.opened;
    expect(sessionId).toBeTruthy();
    expect(await activeIds(session.sdk)).toContain(sessionId);
    await page.getByRole('button', { name: 'Cancel hesitant.bin' }).click();
    await page.locator('li[data-upload="hesitant.bin"][data-phase="cancelled"]').waitFor();
    release.open();
    // the page answers the late beginUpload with an abortUpload of that session (waited for, not timed)
    await page.waitForRequest((r) => /abortUpload\(/.test(r.postData() ?? ''), { timeout: 10_000 }).catch(() => undefined);
    await Promise.all(aborts);
    page.off('request', onRequest);
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    expect(await activeIds(session.sdk)).toEqual([]);
    expect((await session.server.app.services.ds.getRepository(UploadSession).findOneByOrFail({ id: sessionId! })).status).toBe('ABORTED');
    expect(await session.sdk.fileByPath('/hesitant.bin')).toBeNull();
  });

  test("another device's upload is pushed to the panel within 1 s of its beginUpload, without polling", async () => {
    const { page } = p;
    const polls: string[] = [];
    const onRequest = (r: Request) => { if (r.method() === 'POST' && /activeUploads/.test(r.postData() ?? '')) polls.push(r.postData()!); };
    page.on('request', onRequest);
    const local = path.join(session.tmp, 'pushed.bin');
    fs.writeFileSync(local, crypto.randomBytes(16 * MIB)); // 2 parts: the second waits, so the upload stays ACTIVE
    const laptop = new TesseraClient({ server: session.server.url });
    await laptop.signIn(session.email, 'correct horse battery', { deviceName: 'laptop' });
    const second = gate();
    let puts = 0;
    const held: typeof fetch = async (input, init) => {
      if (puts++ > 0) await second.opened;
      return fetch(input, init);
    };
    const begun = gate();
    const upload = laptop.upload(local, '/pushed.bin', { concurrency: 1, fetch: held, fixedParts: true, onSession: () => begun.open() });
    await begun.opened;
    const entry = page.locator('li[data-remote-upload="/pushed.bin"]');
    await entry.waitFor({ timeout: 1000 });
    second.open();
    await upload;
    await entry.waitFor({ state: 'detached', timeout: 10_000 }); // completed: the next push leaves it out
    page.off('request', onRequest);
    expect(polls).toEqual([]);
  });
});

/** A promise that resolves when `open()` is called. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => { open = r; });
  return { opened, open };
}

/**
 * Uploads that stop and go on, in headless Chromium against a real server (local store):
 * a reload in the middle of a multi-part upload, then picking the same file again, sends exactly
 * the parts the server still lacks (IndexedDB remembers the upload; the SDK core resumes the
 * session); pause and resume finish a file; cancel stops one and forgets it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, Route } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { startTestServer, type TestServer } from '../helpers/server';
import { multiPart } from '../helpers/cdc-data';
import { expectNoConsoleErrors, launch, openPage, row, screenshot, signUpInPage, type TestPage } from './browser';

jest.setTimeout(120_000);

const MIB = 1024 * 1024;
let server: TestServer;
let chromium: { browser: Browser; close(): Promise<void> };
let tmp: string;
let p: TestPage;
let sdk: TesseraClient;

beforeAll(async () => {
  server = await startTestServer();
  chromium = await launch();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-web-resume-'));
  p = await openPage(chromium.browser, server.url + '/');
  await signUpInPage(p.page, `resume-${Date.now()}@example.com`);
  sdk = new TesseraClient({ server: server.url, token: (await p.page.evaluate(() => localStorage.getItem('tessera.token')))! });
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => expectNoConsoleErrors(p));

/** Lets the first `pass` part PUTs through and holds every later one until `release()`. */
async function holdPuts(pass: number): Promise<{ release(): Promise<void> }> {
  const held: Route[] = [];
  let passed = 0;
  await p.page.route('**/blobs/**', async (route) => {
    if (route.request().method() !== 'PUT' || passed < pass) {
      if (route.request().method() === 'PUT') passed++;
      return route.continue();
    }
    held.push(route);
  });
  return {
    release: async () => {
      await p.page.unrouteAll({ behavior: 'ignoreErrors' });
      for (const r of held) await r.continue().catch(() => undefined);
    },
  };
}

test('a reload mid-upload, then the same file picked again: only the missing parts are sent', async () => {
  const { page } = p;
  const { data: bytes, ends } = multiPart('web-resume', 40 * MIB + 777);
  const local = path.join(tmp, 'movie.bin');
  fs.writeFileSync(local, bytes);
  const gate = await holdPuts(1);
  const confirmed = page.waitForResponse((r) => r.url().endsWith('/graphql') && !!r.request().postData()?.includes('ConfirmParts'));
  await page.getByTestId('file-input').setInputFiles(local);
  await confirmed; // part 1 stored and confirmed; the others are held
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.reload();
  await gate.release();

  const interrupted = page.locator('li[data-upload="movie.bin"][data-phase="interrupted"]');
  await interrupted.waitFor();
  await screenshot(page, 'upload-interrupted');
  expect(await sdk.fileByPath('/movie.bin')).toBeNull();

  const puts: string[] = [];
  page.on('request', (r) => { if (r.method() === 'PUT') puts.push(r.url()); });
  await page.getByTestId('file-input').setInputFiles(local);
  await page.locator('li[data-upload="movie.bin"][data-phase="done"]').waitFor({ timeout: 60_000 });
  expect(puts).toHaveLength(ends.length - 1);
  await interrupted.waitFor({ state: 'detached' });
  const back = path.join(tmp, 'movie-back.bin');
  await sdk.download('/movie.bin', back);
  expect(fs.readFileSync(back).equals(bytes)).toBe(true);
  // done: nothing left to resume after another reload
  await page.reload();
  await row(page, 'movie.bin').waitFor();
  expect(await page.locator('li[data-phase="interrupted"]').count()).toBe(0);
});

test('pause, then resume, finishes the file; cancel stops another', async () => {
  const { page } = p;
  const bytes = crypto.randomBytes(9 * MIB);
  const gate = await holdPuts(0);
  await page.getByTestId('file-input').setInputFiles({ name: 'paused.bin', mimeType: 'application/octet-stream', buffer: bytes });
  const uploading = page.locator('li[data-upload="paused.bin"][data-phase="upload"]');
  await uploading.waitFor();
  await page.getByRole('button', { name: 'Pause paused.bin' }).click();
  await page.locator('li[data-upload="paused.bin"][data-phase="paused"]').waitFor();
  await gate.release();
  await page.getByRole('button', { name: 'Resume paused.bin' }).click();
  await page.locator('li[data-upload="paused.bin"][data-phase="done"]').waitFor({ timeout: 60_000 });
  const back = path.join(tmp, 'paused-back.bin');
  await sdk.download('/paused.bin', back);
  expect(fs.readFileSync(back).equals(bytes)).toBe(true);

  const gate2 = await holdPuts(0);
  await page.getByTestId('file-input').setInputFiles({ name: 'cancelled.bin', mimeType: 'application/octet-stream', buffer: crypto.randomBytes(MIB) });
  await page.locator('li[data-upload="cancelled.bin"][data-phase="upload"]').waitFor();
  await page.getByRole('button', { name: 'Cancel cancelled.bin' }).click();
  await page.locator('li[data-upload="cancelled.bin"][data-phase="cancelled"]').waitFor();
  await gate2.release();
  expect(await sdk.fileByPath('/cancelled.bin')).toBeNull();
  await page.reload();
  await row(page, 'paused.bin').waitFor();
  expect(await page.locator('li[data-phase="interrupted"]').count()).toBe(0);
});

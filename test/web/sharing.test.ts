/**
 * Sharing in the web app, two users in two browser contexts (headless Chromium, real server,
 * local store): the owner shares a folder as editor in the share dialog → it appears in the
 * other user's "Shared with me" without a reload; they download a file from it and upload into
 * it; removing the share empties the list; a public link with a password (wrong one refused,
 * right one downloads, in a third context) and its revocation. Fails on any console error of
 * the two users' pages. The devices page lists this browser by its name and signs another
 * device out.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { startTestServer, type TestServer } from '../helpers/server';
import { expectNoConsoleErrors, launch, openPage, row, screenshot, signUpInPage, type TestPage } from './browser';

jest.setTimeout(120_000);

let server: TestServer;
let chromium: { browser: Browser; close(): Promise<void> };
let tmp: string;
let owner: TestPage;
let guest: TestPage;
let sdkOwner: TesseraClient;
const guestEmail = `guest-${Date.now()}@example.com`;
const ownerEmail = `owner-${Date.now()}@example.com`;
const planBytes = crypto.randomBytes(50_000);

beforeAll(async () => {
  server = await startTestServer();
  chromium = await launch();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-web-share-'));
  owner = await openPage(chromium.browser, server.url + '/');
  guest = await openPage(chromium.browser, server.url + '/');
  await signUpInPage(owner.page, ownerEmail);
  await signUpInPage(guest.page, guestEmail);
  sdkOwner = new TesseraClient({ server: server.url, token: (await owner.page.evaluate(() => localStorage.getItem('tessera.token')))! });
  const local = path.join(tmp, 'plan.bin');
  fs.writeFileSync(local, planBytes);
  await sdkOwner.upload(local, '/Team/plan.bin');
});

afterAll(async () => {
  await chromium?.close();
  await server?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

afterEach(() => {
  expectNoConsoleErrors(owner);
  expectNoConsoleErrors(guest);
});

test('a folder shared as editor appears in "Shared with me" without a reload; the guest downloads from it and uploads into it', async () => {
  await row(owner.page, 'Team').waitFor(); // the SDK's upload reached the open page live
  await guest.page.getByRole('link', { name: 'Shared with me' }).click();
  await guest.page.getByText('Nothing is shared with you yet.').waitFor();

  await row(owner.page, 'Team').getByRole('button', { name: 'Share' }).click();
  const dialog = owner.page.getByRole('dialog', { name: 'Share Team' });
  await dialog.getByLabel('Email').fill(guestEmail);
  await dialog.getByLabel('Role').selectOption('EDITOR');
  await dialog.getByRole('button', { name: 'Share', exact: true }).click();
  await dialog.locator(`li[data-share="${guestEmail}"]`).waitFor();
  await screenshot(owner.page, 'share-dialog');

  await row(guest.page, 'Team').waitFor({ timeout: 5000 }); // live, no reload
  expect(await row(guest.page, 'Team').locator('.badge').textContent()).toBe('editor');
  await screenshot(guest.page, 'shared-with-me');
  await row(guest.page, 'Team').getByRole('link').click();
  await row(guest.page, 'plan.bin').waitFor();

  const [download] = await Promise.all([guest.page.waitForEvent('download'), row(guest.page, 'plan.bin').getByRole('button', { name: 'Download' }).click()]);
  expect(download.suggestedFilename()).toBe('plan.bin');
  const saved = path.join(tmp, 'guest-plan.bin');
  await download.saveAs(saved);
  expect(fs.readFileSync(saved).equals(planBytes)).toBe(true);

  const fromGuest = crypto.randomBytes(30_000);
  await guest.page.getByTestId('file-input').setInputFiles({ name: 'from-guest.bin', mimeType: 'application/octet-stream', buffer: fromGuest });
  await row(guest.page, 'from-guest.bin').waitFor();
  const back = path.join(tmp, 'from-guest.bin');
  await sdkOwner.download('/Team/from-guest.bin', back);
  expect(fs.readFileSync(back).equals(fromGuest)).toBe(true);

  // removing the share: the dialog says only the owner has access, and the guest loses the folder
  await dialog.locator(`li[data-share="${guestEmail}"]`).getByRole('button', { name: 'Remove' }).click();
  await dialog.getByText('Only you.').waitFor();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await guest.page.getByRole('link', { name: 'Shared with me' }).first().click();
  await guest.page.getByText('Nothing is shared with you yet.').waitFor();
});

test('a public link with a password: refused with a wrong one, downloads with the right one; revoked, it is gone', async () => {
  await row(owner.page, 'Team').getByRole('link').click();
  await row(owner.page, 'plan.bin').getByRole('button', { name: 'Share' }).click();
  const dialog = owner.page.getByRole('dialog', { name: 'Share plan.bin' });
  await dialog.getByLabel('Link password').fill('s3cret-pass');
  await dialog.getByRole('button', { name: 'Create link' }).click();
  const url = await dialog.getByLabel('Link URL').inputValue();
  expect(url).toMatch(new RegExp(`^${server.url}/s/`));

  const stranger = await openPage(chromium.browser, url);
  await stranger.page.getByText('This link is protected by a password.').waitFor();
  await stranger.page.locator('input[name=password]').fill('wrong');
  await stranger.page.getByRole('button', { name: 'Open' }).click();
  await stranger.page.getByText('Wrong password.').waitFor();
  await stranger.page.locator('input[name=password]').fill('s3cret-pass');
  const [download] = await Promise.all([stranger.page.waitForEvent('download'), stranger.page.getByRole('button', { name: 'Open' }).click()]);
  expect(download.suggestedFilename()).toBe('plan.bin');
  const saved = path.join(tmp, 'link-plan.bin');
  await download.saveAs(saved);
  expect(fs.readFileSync(saved).equals(planBytes)).toBe(true);
  await stranger.context.close();

  await dialog.getByRole('button', { name: 'Revoke' }).click();
  await dialog.getByRole('button', { name: 'Revoke' }).waitFor({ state: 'detached' });
  expect((await fetch(url, { redirect: 'manual', headers: { 'x-share-password': 's3cret-pass' } })).status).toBe(404);
  await dialog.getByRole('button', { name: 'Done' }).click();
});

test('devices: this browser is listed by its name; signing another device out ends its session', async () => {
  const laptop = new TesseraClient({ server: server.url });
  await laptop.signIn(ownerEmail, 'correct horse battery', { deviceName: 'laptop' });
  await owner.page.getByRole('link', { name: 'Devices' }).click();
  const here = owner.page.locator('tr[data-device="Chrome on Linux"]');
  await here.waitFor();
  expect(await here.locator('.badge').textContent()).toBe('this browser');
  await screenshot(owner.page, 'devices');
  await owner.page.locator('tr[data-device="laptop"]').getByRole('button', { name: 'Sign out' }).click();
  await owner.page.locator('tr[data-device="laptop"]').waitFor({ state: 'detached' });
  await expect(laptop.listFolder('/')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  expect((await sdkOwner.listFolder('/')).map((f) => f.name)).toContain('Team');
});

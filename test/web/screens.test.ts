/**
 * The rest of what a person can do in the web app, in headless Chromium against a real server,
 * on the local store and on S3 (Ceph RGW; TEST_WEB_STORES=local narrows it): sign in through
 * the form (a wrong password is a sentence); a file whose content is already stored finishes
 * at once ("already stored"); quota shown as "X of Y used", and an upload over it refused with
 * a sentence; keyboard multi-select (Space ticks, Escape unticks); empty the trash; a device
 * signed out from elsewhere is back at the sign-in screen; every main screen fits a 390 px
 * phone viewport (no sideways scrolling). Screenshots of each main screen at 1280 px and at
 * 390 px: test-output/web/<store>-screen-*.png. Fails on any console error.
 */
import crypto from 'node:crypto';
import type { Page } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { User } from '../../src/entities';
import { type TestServer } from '../helpers/server';
import { expectNoConsoleErrors, useChromium, row, screenshot, type TestPage } from './browser';
import { startWebSession, WEB_STORES, type WebSession } from './session';

jest.setTimeout(120_000);

const PASSWORD = 'correct horse battery';
const chromium = useChromium();

describe.each(WEB_STORES)('on the %s store', (store) => {
  let session: WebSession;
  let server: TestServer;
  let p: TestPage;
  let sdk: TesseraClient;
  let email: string;

  beforeAll(async () => {
    session = await startWebSession(chromium.browser, store, 'webscr');
    ({ server, page: p, sdk, email } = session);
  });

  afterAll(async () => { await session?.end(); });

  afterEach(() => expectNoConsoleErrors(p));

  const pick = (page: Page, name: string, buffer: Buffer) => page.getByTestId('file-input').setInputFiles({ name, mimeType: 'application/octet-stream', buffer });

  test('a file whose content is already stored finishes at once: "already stored"', async () => {
    const { page } = p;
    const bytes = crypto.randomBytes(200_000);
    await pick(page, 'first.bin', bytes);
    await page.locator('li[data-upload="first.bin"][data-phase="done"]').waitFor();
    const puts: string[] = [];
    page.on('request', (r) => { if (r.method() === 'PUT') puts.push(r.url()); });
    await pick(page, 'again.bin', bytes);
    const again = page.locator('li[data-upload="again.bin"][data-phase="done"]');
    await again.waitFor();
    expect(await again.locator('.ustatus').textContent()).toBe('already stored');
    expect(puts).toEqual([]);
    await row(page, 'again.bin').waitFor();
    await screenshot(page, `${store}-screen-files`);
  });

  test('quota: "X of Y used" in the sidebar; an upload over it is refused with a sentence', async () => {
    const { page } = p;
    await server.app.services.ds.getRepository(User).update({ email }, { quotaBytes: 1024 * 1024 });
    await page.reload();
    await page.getByLabel('Storage used').getByText('391 KB of 1.0 MB used').waitFor(); // first.bin + again.bin
    await pick(page, 'too-big.bin', crypto.randomBytes(900_000));
    const failed = page.locator('li[data-upload="too-big.bin"][data-phase="error"]');
    await failed.waitFor();
    expect(await failed.locator('.ustatus').textContent()).toBe('Not enough storage left: this needs 879 KB, and 391 KB of your 1.0 MB are in use.');
    await screenshot(page, `${store}-screen-quota`);
    await server.app.services.ds.getRepository(User).update({ email }, { quotaBytes: null });
    await page.getByRole('button', { name: 'Clear' }).click();
  });

  test('keyboard multi-select: Space ticks the row the keyboard is on, Escape unticks all', async () => {
    const { page } = p;
    await row(page, 'again.bin').locator('td.num').click(); // the keyboard's row; nothing focused
    expect(await page.locator('tbody tr[aria-selected="true"]').getAttribute('data-name')).toBe('again.bin');
    await page.keyboard.press(' ');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press(' ');
    await page.getByText('2 selected').waitFor();
    expect(await page.getByLabel('Select again.bin').isChecked()).toBe(true);
    expect(await page.getByLabel('Select first.bin').isChecked()).toBe(true);
    await page.keyboard.press(' '); // unticks first.bin again
    await page.getByText('1 selected').waitFor();
    await page.keyboard.press('Escape');
    await page.getByText('1 selected').waitFor({ state: 'detached' });
    expect(await page.getByLabel('Select again.bin').isChecked()).toBe(false);
  });

  test('the trash: deleted files listed, then emptied', async () => {
    const { page } = p;
    await row(page, 'again.bin').getByRole('button', { name: 'Delete' }).click();
    await row(page, 'again.bin').waitFor({ state: 'detached' });
    await page.getByRole('link', { name: 'Trash' }).click();
    await row(page, 'again.bin').waitFor();
    await screenshot(page, `${store}-screen-trash`);
    await page.getByRole('button', { name: 'Empty trash' }).click();
    await page.getByText('The trash is empty.').waitFor();
    expect(await sdk.trash()).toEqual([]);
    await page.getByRole('link', { name: 'My files' }).first().click();
    await row(page, 'first.bin').waitFor();
  });

  test('every main screen fits a 390 px phone viewport', async () => {
    const { page } = p;
    await sdk.createFolder('/Albums');
    await row(page, 'Albums').waitFor();
    await page.setViewportSize({ width: 390, height: 844 });
    const fits = async (name: string) => {
      await screenshot(page, `${store}-screen-phone-${name}`);
      expect({ name, width: await page.evaluate(() => document.documentElement.scrollWidth) }).toEqual({ name, width: 390 });
    };
    try {
      await fits('files');
      await row(page, 'first.bin').getByRole('button', { name: 'Share' }).click();
      await page.getByRole('dialog', { name: 'Share first.bin' }).getByRole('button', { name: 'Create link' }).click();
      await page.getByRole('dialog').getByLabel('Link URL').waitFor();
      await fits('share');
      await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
      await row(page, 'first.bin').getByRole('button', { name: 'Revisions' }).click();
      await page.getByRole('dialog').locator('li[data-revision]').first().waitFor();
      await fits('revisions');
      await page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
      await page.getByRole('link', { name: 'Shared with me' }).click();
      await page.getByText('Nothing is shared with you yet.').waitFor();
      await fits('shared');
      await page.getByRole('link', { name: 'Trash' }).click();
      await page.getByText('The trash is empty.').waitFor();
      await fits('trash');
      await page.getByRole('link', { name: 'Devices' }).click();
      await page.locator('tr[data-device]').first().waitFor();
      await fits('devices');
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
    await screenshot(page, `${store}-screen-devices`);
    await page.getByRole('link', { name: 'My files' }).first().click();
    await row(page, 'first.bin').waitFor();
  });

  test('signed out from another device: back at the sign-in screen; a wrong password is a sentence; signing in again works', async () => {
    const { page } = p;
    const laptop = new TesseraClient({ server: server.url });
    await laptop.signIn(email, PASSWORD, { deviceName: 'laptop' });
    const here = (await laptop.devices()).find((d) => d.name === 'Chrome on Linux')!;
    await laptop.revokeDevice(here.id);
    await page.getByRole('button', { name: 'Sign in' }).waitFor({ timeout: 10_000 }); // live: the change feed ends UNAUTHENTICATED
    await page.getByText('You were signed out').waitFor();
    expect(await page.evaluate(() => localStorage.getItem('tessera.token'))).toBeNull();
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('Wrong email or password.').waitFor();
    await screenshot(page, `${store}-screen-sign-in`);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await row(page, 'first.bin').waitFor();
  });
});

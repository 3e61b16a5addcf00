/**
 * Public links in headless Chromium against a real server, on the local store and on S3 (Ceph
 * RGW; TEST_WEB_STORES=local narrows it). The owner creates a link in the share dialog with an
 * expiry and a password, copies it (clipboard), and sees its expiry in the list. A stranger (a
 * fresh context, signed out) gets proper HTML pages, never JSON: the password prompt, a wrong
 * password, then the download with the right one; an unknown link; an expired link (its end
 * date moved into the past in the database); a revoked link. A folder link lists its files;
 * each downloads. Every page is checked for console errors (a CSP violation logs one).
 * Screenshots of each page: test-output/web/<store>-link-*.png.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { ShareLink } from '../../src/entities';
import { type TestServer } from '../helpers/server';
import { expectNoConsoleErrors, useChromium, openPage, row, screenshot, type TestPage } from './browser';
import { startWebSession, WEB_STORES, type WebSession } from './session';

jest.setTimeout(120_000);

const chromium = useChromium();

describe.each(WEB_STORES)('on the %s store', (store) => {
  let session: WebSession;
  let server: TestServer;
  let tmp: string;
  let owner: TestPage;
  let sdk: TesseraClient;
  const report = crypto.randomBytes(70_000);
  const strangers: TestPage[] = [];

  beforeAll(async () => {
    session = await startWebSession(chromium.browser, store, 'weblink');
    ({ server, tmp, page: owner, sdk } = session);
    await owner.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url });
    fs.writeFileSync(path.join(tmp, 'report.bin'), report);
    await sdk.upload(path.join(tmp, 'report.bin'), '/report.bin');
    await sdk.upload(path.join(tmp, 'report.bin'), '/Public/inside.bin');
  });

  afterAll(async () => {
    for (const s of strangers) await s.context.close().catch(() => undefined);
    await session?.end();
  });

  afterEach(() => {
    expectNoConsoleErrors(owner);
    for (const s of strangers) expectNoConsoleErrors(s);
  });

  /** A signed-out visitor's page at `url`; its status and the page. */
  async function visit(url: string): Promise<{ page: Page; status: number }> {
    const s = await openPage(chromium.browser, 'about:blank');
    strangers.push(s);
    const res = await s.page.goto(url);
    return { page: s.page, status: res!.status() };
  }

  async function htmlOf(page: Page): Promise<{ type: string; text: string }> {
    const text = await page.locator('body').innerText();
    expect(text.trim().startsWith('{')).toBe(false); // never raw JSON for a person
    return { type: await page.evaluate(() => document.contentType), text };
  }

  async function openShareDialog(name: string) {
    await row(owner.page, name).getByRole('button', { name: 'Share' }).click();
    return owner.page.getByRole('dialog', { name: `Share ${name}` });
  }

  test('created with an expiry and a password, copied; the stranger sees the prompt, a wrong password, then downloads', async () => {
    await row(owner.page, 'report.bin').waitFor();
    const dialog = await openShareDialog('report.bin');
    await dialog.getByLabel('Link password').fill('open sesame');
    await dialog.getByLabel('Link expires').selectOption('30');
    const before = Date.now();
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const url = await dialog.getByLabel('Link URL').inputValue();
    expect(url).toMatch(new RegExp(`^${server.url}/s/[A-Za-z0-9_-]+$`));
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByText('Link copied.').waitFor();
    expect(await owner.page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    expect(await dialog.locator('.linkinfo').textContent()).toMatch(/^password · expires /);
    await screenshot(owner.page, `${store}-link-dialog`);
    // the server has the expiry the dialog asked for: 30 days from now
    const link = await server.app.services.ds.getRepository(ShareLink).findOneByOrFail({ fileId: (await sdk.fileByPath('/report.bin'))!.id });
    expect(Math.abs(link.expiresAt!.getTime() - (before + 30 * 86_400_000))).toBeLessThan(120_000);
    await dialog.getByRole('button', { name: 'Done' }).click();

    const { page, status } = await visit(url);
    expect(status).toBe(401);
    expect(await htmlOf(page)).toMatchObject({ type: 'text/html', text: expect.stringContaining('This link is protected by a password.') });
    expect(await page.title()).toBe('Password required · Tessera');
    await screenshot(page, `${store}-link-password`);
    await page.getByLabel('Password').fill('not it');
    await page.getByRole('button', { name: 'Open' }).click();
    await page.getByRole('alert').getByText('Wrong password. Please try again.').waitFor();
    expect(await page.title()).toBe('Wrong password · Tessera');
    await screenshot(page, `${store}-link-wrong-password`);
    await page.getByLabel('Password').fill('open sesame');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Open' }).click()]);
    expect(download.suggestedFilename()).toBe('report.bin');
    const saved = path.join(tmp, 'from-link.bin');
    await download.saveAs(saved);
    expect(fs.readFileSync(saved).equals(report)).toBe(true);

    // expired: its end date moved into the past
    await server.app.services.ds.getRepository(ShareLink).update({ id: link.id }, { expiresAt: new Date(Date.now() - 60_000) });
    const expired = await visit(url);
    expect(expired.status).toBe(410);
    expect((await htmlOf(expired.page)).text).toContain('This link has expired');
    await screenshot(expired.page, `${store}-link-expired`);
    await (await openShareDialog('report.bin')).locator('.linkinfo').getByText('password · expired').waitFor();
    await owner.page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
  });

  test('an unknown link and a revoked link: a "Link not found" page', async () => {
    const unknown = await visit(`${server.url}/s/${'A'.repeat(43)}`);
    expect(unknown.status).toBe(404);
    expect((await htmlOf(unknown.page)).text).toContain('Link not found');
    expect(await unknown.page.title()).toBe('Link not found · Tessera');
    await screenshot(unknown.page, `${store}-link-unknown`);

    const dialog = await openShareDialog('report.bin');
    await dialog.getByLabel('Link expires').selectOption('');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const url = await dialog.getByLabel('Link URL').inputValue();
    const item = dialog.locator('li', { has: owner.page.getByLabel('Link URL') });
    expect(await item.locator('.linkinfo').textContent()).toBe('no password · never expires');
    await item.getByRole('button', { name: 'Revoke' }).click();
    await owner.page.getByRole('dialog').getByLabel('Link URL').waitFor({ state: 'detached' });
    await owner.page.getByRole('dialog').getByRole('button', { name: 'Done' }).click();
    const revoked = await visit(url);
    expect(revoked.status).toBe(404);
    expect((await htmlOf(revoked.page)).text).toContain('Link not found');
  });

  test('a folder link lists its files; each one downloads', async () => {
    const dialog = await openShareDialog('Public');
    await dialog.getByRole('button', { name: 'Create link' }).click();
    const url = await dialog.getByLabel('Link URL').inputValue();
    await dialog.getByRole('button', { name: 'Done' }).click();
    const { page, status } = await visit(url);
    expect(status).toBe(200);
    await page.getByRole('heading', { name: 'Public' }).waitFor();
    await screenshot(page, `${store}-link-folder`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'inside.bin' }).click()]);
    const saved = path.join(tmp, 'inside.bin');
    await download.saveAs(saved);
    expect(fs.readFileSync(saved).equals(report)).toBe(true);
  });
});

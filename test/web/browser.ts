/**
 * Headless Debian Chromium (/usr/bin/chromium, never a downloaded browser) driven by
 * playwright-core, for the web app's end-to-end tests. One browser per test file; each user a
 * fresh context. Console errors and page errors are collected: `expectNoConsoleErrors` fails a
 * test that logged one (the status of a navigated document itself, such as a 404 page, is not one). Screenshots go to test-output/web/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOTS = path.join(__dirname, '..', '..', 'test-output', 'web');
const WEB_DIST = path.join(__dirname, '..', '..', 'dist', 'web', 'index.html');

/** Launches Chromium; throws a clear message when it or the built app is missing. */
export async function launch(): Promise<{ browser: Browser; close(): Promise<void> }> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/services.sh does)`);
  if (!fs.existsSync(WEB_DIST)) throw new Error('dist/web is missing: run npm run build (it builds the web app)');
  // launch() gives every browser a fresh temporary profile (playwright refuses --user-data-dir here)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  return { browser, close: () => browser.close() };
}

/** One Chromium for the calling suite: launched in its beforeAll, closed in its afterAll; `.browser` once launched. */
export function useChromium(): { readonly browser: Browser } {
  let launched: { browser: Browser; close(): Promise<void> } | undefined;
  beforeAll(async () => { launched = await launch(); });
  afterAll(async () => { await launched?.close(); });
  return {
    get browser(): Browser {
      if (!launched) throw new Error('Chromium is not launched yet (use it inside a hook or test)');
      return launched.browser;
    },
  };
}

export interface TestPage { page: Page; context: BrowserContext; errors: string[] }

/** A fresh context and page; records console errors and uncaught page errors. */
export async function openPage(browser: Browser, url: string, viewport = { width: 1280, height: 800 }): Promise<TestPage> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chromium logs a document's own 4xx (a link's 401 password prompt, a 404 page) as a failed
    // load; that status is the server's intended answer, not an error of the page
    if (m.text().startsWith('Failed to load resource') && m.location().url === page.url()) return;
    errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  await page.goto(url);
  return { page, context, errors };
}

export function expectNoConsoleErrors(p: TestPage): void {
  expect(p.errors).toEqual([]);
}

/** Signs up through the form; resolves once "My files" shows. */
export async function signUpInPage(page: Page, email: string, password = 'correct horse battery'): Promise<void> {
  await page.getByRole('link', { name: 'Create an account' }).click();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByText('My files').waitFor();
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** The row of `name` in the listing. */
export function row(page: Page, name: string) {
  return page.locator(`tr[data-name="${name}"]`);
}

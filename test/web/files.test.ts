/**
 * The web app in headless Chromium against a real server, on the local store and on S3 (Ceph
 * RGW, its bucket CORS set by scripts/rgw-bucket.js, so part PUTs go from the page straight to
 * RGW; TEST_WEB_STORES=local narrows it): sign up; upload a
 * 3-part file through the file picker (exactly 3 part PUTs, straight to the store URLs) and a
 * folder of 20 files, each byte-identical when the SDK downloads it; drop files on the page, and
 * a real folder from the desktop (CDP's drag input);
 * sort; create / rename / move; the browser's own download (right name, same bytes); delete →
 * trash → restore; an SDK upload appears in the open page within 2 s; sign out. Fails on any
 * console error. Screenshots: test-output/web/.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { TesseraClient } from '../../clients/sdk';
import { type TestServer } from '../helpers/server';
import { multiPart } from '../helpers/cdc-data';
import { expectNoConsoleErrors, useChromium, row, screenshot, type TestPage } from './browser';
import { startWebSession, WEB_STORES, type WebSession } from './session';

jest.setTimeout(120_000);

const MIB = 1024 * 1024;
const chromium = useChromium();

describe.each(WEB_STORES)('on the %s store', (store) => {
let session: WebSession;
let server: TestServer;
let tmp: string;
let p: TestPage;
let sdk: TesseraClient;
/** Where the page sends part PUTs: this server's /blobs route, or RGW itself. */
let partOrigin: string;

beforeAll(async () => {
  session = await startWebSession(chromium.browser, store, 'web');
  ({ server, tmp, page: p, sdk, partOrigin } = session);
});

afterAll(async () => { await session?.end(); });

afterEach(() => expectNoConsoleErrors(p));

async function sdkBytes(remote: string): Promise<Buffer> {
  const local = path.join(tmp, `dl-${crypto.randomUUID()}`);
  await sdk.download(remote, local);
  return fs.readFileSync(local);
}

test('/ serves the app with a CSP; app routes fall back to it; GraphQL and unknown API paths do not', async () => {
  const root = await fetch(server.url + '/');
  expect(root.status).toBe(200);
  expect(root.headers.get('content-security-policy')).toContain("script-src 'self'");
  const html = await root.text();
  expect(html).toContain('<div id="root">');
  expect(html).not.toMatch(/<script>(?!<\/)/); // no inline script
  const deep = await fetch(server.url + '/files/a/b', { headers: { accept: 'text/html' } });
  expect(deep.status).toBe(200);
  expect(await deep.text()).toBe(html);
  const api = await fetch(server.url + '/blobs/nope', { headers: { accept: 'text/html' } });
  expect(api.headers.get('content-type')).toContain('json');
  const other = await fetch(server.url + '/no-such-thing', { headers: { accept: 'text/html' } });
  expect(other.status).toBe(404);
  expect(other.headers.get('content-type')).toContain('json');
  await screenshot(p.page, `${store}-files-empty`);
});

test('a multi-part file through the picker: one PUT per content-defined part (cut as the Node SDK cuts it), byte-identical in the SDK', async () => {
  const { page } = p;
  const { data: bytes, ends } = multiPart('web-files', 40 * MIB + 12345);
  const puts: string[] = [];
  const payloadHashes: string[] = [];
  page.on('request', (r) => {
    if (r.method() !== 'PUT') return;
    puts.push(r.url());
    payloadHashes.push(r.headers()['x-amz-content-sha256']);
  });
  const local = path.join(tmp, 'big.bin'); // a path, not a buffer: 40 MiB through the protocol takes longer than its timeout
  fs.writeFileSync(local, bytes);
  await page.getByTestId('file-input').setInputFiles(local);
  await page.locator('li[data-upload="big.bin"][data-phase="done"]').waitFor({ timeout: 60_000 });
  await row(page, 'big.bin').waitFor();
  expect(puts).toHaveLength(ends.length);
  expect(puts.every((u) => u.startsWith(partOrigin))).toBe(true);
  if (store === 's3') { // each part bound to its SHA-256 (the signed payload hash RGW checks), no MD5
    const sha = ends.map((end, i) => crypto.createHash('sha256').update(bytes.subarray(i ? ends[i - 1] : 0, end)).digest('hex'));
    expect([...payloadHashes].sort()).toEqual([...sha].sort());
  }
  expect(await row(page, 'big.bin').locator('td.num').textContent()).toBe('40 MB');
  expect((await sdkBytes('/big.bin')).equals(bytes)).toBe(true);
  await screenshot(page, `${store}-files-uploaded`);
});

test('on S3 with S3_PART_CHECKSUM=MD5: each part PUT carries its Content-MD5 (hashed in the page\'s workers), byte-identical in the SDK', async () => {
  if (store !== 's3') return; // one S3 server with MD5-bound part URLs beside this suite's
  const md5Session = await startWebSession(chromium.browser, 's3-md5', 'web-md5');
  try {
    const { page } = md5Session.page;
    const { data: bytes, ends } = multiPart('web-md5', 20 * MIB + 777);
    const puts: Record<string, string>[] = [];
    page.on('request', (r) => { if (r.method() === 'PUT') puts.push(r.headers()); });
    const local = path.join(md5Session.tmp, 'md5.bin');
    fs.writeFileSync(local, bytes);
    await page.getByTestId('file-input').setInputFiles(local);
    await page.locator('li[data-upload="md5.bin"][data-phase="done"]').waitFor({ timeout: 60_000 });
    expect(puts).toHaveLength(ends.length);
    const md5s = ends.map((end, i) => crypto.createHash('md5').update(bytes.subarray(i ? ends[i - 1] : 0, end)).digest('base64'));
    expect(puts.map((h) => h['content-md5']).sort()).toEqual([...md5s].sort());
    expect(puts.every((h) => !h['x-amz-content-sha256'])).toBe(true);
    const out = path.join(md5Session.tmp, 'md5.out');
    await md5Session.sdk.download('/md5.bin', out);
    expect(fs.readFileSync(out).equals(bytes)).toBe(true);
    expectNoConsoleErrors(md5Session.page);
  } finally {
    await md5Session.end();
  }
});

test('a folder of 20 files through the folder picker keeps its tree', async () => {
  const { page } = p;
  const dir = path.join(tmp, 'album');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const files = new Map<string, Buffer>();
  for (let i = 0; i < 20; i++) {
    const rel = i < 15 ? `photo-${i}.jpg` : `sub/note-${i}.txt`;
    const b = crypto.randomBytes(1000 + i * 997);
    fs.writeFileSync(path.join(dir, rel), b);
    files.set(rel, b);
  }
  await page.getByTestId('folder-input').setInputFiles(dir);
  await page.waitForFunction(() => document.querySelectorAll('li[data-upload^="album/"][data-phase="done"]').length === 20, undefined, { timeout: 60_000 });
  await page.getByText('Uploads finished').waitFor();
  await row(page, 'album').waitFor();
  for (const [rel, b] of files) expect((await sdkBytes(`/album/${rel}`)).equals(b)).toBe(true);
  // open it, breadcrumbs lead back
  await row(page, 'album').getByRole('link').click();
  await row(page, 'sub').waitFor();
  expect(await page.locator('tbody tr').count()).toBe(16);
  expect(await page.getByRole('navigation', { name: 'Breadcrumbs' }).textContent()).toBe('My files / album');
  expect(new URL(page.url()).pathname).toBe('/files/album');
  await screenshot(page, `${store}-files-folder`);
  await page.reload(); // the SPA fallback: the folder's own URL opens the folder
  await row(page, 'sub').waitFor();
  await page.getByRole('navigation', { name: 'Breadcrumbs' }).getByRole('link', { name: 'My files' }).click();
  await row(page, 'big.bin').waitFor();
});

test('dropping files on the page uploads them into the open folder', async () => {
  const { page } = p;
  await page.evaluate(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['hello drop'], 'dropped.txt', { type: 'text/plain' }));
    dt.items.add(new File(['second'], 'dropped-2.txt', { type: 'text/plain' }));
    document.querySelector('.app')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  });
  await row(page, 'dropped.txt').waitFor();
  await row(page, 'dropped-2.txt').waitFor();
  expect((await sdkBytes('/dropped.txt')).toString()).toBe('hello drop');
});

test('dropping a folder (and a file beside it) from the desktop uploads its whole tree', async () => {
  const { page } = p;
  // a real drag from outside the page, through Chromium's own input pipeline (CDP), so the page
  // sees the folder as a directory entry (webkitGetAsEntry), as when a person drags it in
  const dir = path.join(tmp, 'dropzone');
  const files = new Map<string, Buffer>([['Holiday/a.txt', Buffer.from('sea')], ['Holiday/sub/b.bin', crypto.randomBytes(5000)], ['loose.txt', Buffer.from('beside')]]);
  for (const [rel, b] of files) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), b);
  }
  const cdp = await p.context.newCDPSession(page);
  const data = { items: [], files: [path.join(dir, 'Holiday'), path.join(dir, 'loose.txt')], dragOperationsMask: 1 };
  for (const type of ['dragEnter', 'dragOver', 'drop'] as const) await cdp.send('Input.dispatchDragEvent', { type, x: 640, y: 400, data });
  await cdp.detach();
  await row(page, 'Holiday').waitFor();
  await row(page, 'loose.txt').waitFor();
  await page.locator('li[data-upload="Holiday/sub/b.bin"][data-phase="done"]').waitFor();
  for (const [rel, b] of files) expect((await sdkBytes(`/${rel}`)).equals(b)).toBe(true);
  await sdk.deleteFile('/Holiday');
  await sdk.deleteFile('/loose.txt');
  await row(page, 'Holiday').waitFor({ state: 'detached' });
  await row(page, 'loose.txt').waitFor({ state: 'detached' });
});

test('sorting by name and size, both ways; folders first', async () => {
  const { page } = p;
  const names = () => page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
  expect(await names()).toEqual(['album', 'big.bin', 'dropped-2.txt', 'dropped.txt']);
  await page.getByRole('button', { name: /^Name/ }).click();
  expect(await names()).toEqual(['album', 'dropped.txt', 'dropped-2.txt', 'big.bin']);
  await page.getByRole('button', { name: /^Size/ }).click();
  expect(await names()).toEqual(['album', 'dropped-2.txt', 'dropped.txt', 'big.bin']);
  await page.getByRole('button', { name: /^Size/ }).click();
  expect(await names()).toEqual(['album', 'big.bin', 'dropped.txt', 'dropped-2.txt']);
});

test('create a folder, rename and move a file; errors are sentences', async () => {
  const { page } = p;
  await page.getByRole('button', { name: 'New folder' }).click();
  await page.getByLabel('Folder name').fill('Docs');
  await page.getByRole('button', { name: 'Create' }).click();
  await row(page, 'Docs').waitFor();
  await row(page, 'dropped.txt').getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New name').fill('renamed.txt');
  await page.getByRole('button', { name: 'Rename', exact: true }).last().click();
  await row(page, 'renamed.txt').waitFor();
  await row(page, 'renamed.txt').getByRole('button', { name: 'Move' }).click();
  await page.getByLabel('Into folder (path)').fill('/Docs');
  await page.getByRole('button', { name: 'Move', exact: true }).last().click();
  await row(page, 'renamed.txt').waitFor({ state: 'detached' });
  expect((await sdk.fileByPath('/Docs/renamed.txt'))?.isFolder).toBe(false);
  // renaming onto a taken name: a readable sentence, no JSON
  await row(page, 'dropped-2.txt').getByRole('button', { name: 'Rename' }).click();
  await page.getByLabel('New name').fill('big.bin');
  await page.getByRole('button', { name: 'Rename', exact: true }).last().click();
  const alert = page.getByRole('alert');
  await alert.waitFor();
  expect(await alert.textContent()).not.toMatch(/[{}]|extensions|Error:/);
  expect((await sdk.fileByPath('/dropped-2.txt'))?.isFolder).toBe(false);
});

test("the browser's own download: the file's name and bytes", async () => {
  const { page } = p;
  const bytes = (await sdkBytes('/big.bin'));
  const [download] = await Promise.all([page.waitForEvent('download'), row(page, 'big.bin').getByRole('button', { name: 'Download' }).click()]);
  expect(download.suggestedFilename()).toBe('big.bin');
  const saved = path.join(tmp, 'browser-download.bin');
  await download.saveAs(saved);
  expect(fs.readFileSync(saved).equals(bytes)).toBe(true);
});

test('revisions: a second version from the SDK, the first restored in the dialog; usage shows', async () => {
  const { page } = p;
  const before = await sdkBytes('/dropped-2.txt');
  const local = path.join(tmp, 'v2.txt');
  fs.writeFileSync(local, 'version two, longer');
  await sdk.upload(local, '/dropped-2.txt');
  await row(page, 'dropped-2.txt').getByRole('button', { name: 'Revisions' }).click();
  const dialog = page.getByRole('dialog', { name: 'Revisions of dropped-2.txt' });
  await dialog.locator('li[data-revision]').nth(1).waitFor();
  expect(await dialog.locator('li[data-revision]').count()).toBe(2);
  await dialog.locator('li[data-revision="1"]').getByRole('button', { name: 'Restore' }).click();
  await dialog.locator('li[data-revision="3"]').waitFor(); // the restore is a new current revision
  expect((await sdkBytes('/dropped-2.txt')).equals(before)).toBe(true);
  await dialog.getByRole('button', { name: 'Done' }).click();
  expect(await page.getByLabel('Storage used').textContent()).toMatch(/^\d+(\.\d)? (B|KB|MB) (of .* )?used$/);
});

test('delete → trash → restore', async () => {
  const { page } = p;
  await row(page, 'dropped-2.txt').getByRole('button', { name: 'Delete' }).click();
  await row(page, 'dropped-2.txt').waitFor({ state: 'detached' });
  expect(await sdk.fileByPath('/dropped-2.txt')).toBeNull();
  await page.getByRole('link', { name: 'Trash' }).click();
  await row(page, 'dropped-2.txt').waitFor();
  await screenshot(page, `${store}-trash`);
  await row(page, 'dropped-2.txt').getByRole('button', { name: 'Restore' }).click();
  await row(page, 'dropped-2.txt').waitFor({ state: 'detached' });
  expect((await sdk.fileByPath('/dropped-2.txt'))?.isFolder).toBe(false);
  await page.getByRole('link', { name: 'My files' }).first().click();
  await row(page, 'dropped-2.txt').waitFor();
});

test('keyboard: arrows move, Enter opens a folder, Backspace goes up, Delete moves to the trash', async () => {
  const { page } = p;
  const names = await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')!));
  await page.locator('h1, nav.crumbs').first().click();
  await page.keyboard.press('ArrowDown');
  expect(await page.locator('tbody tr[aria-selected="true"]').getAttribute('data-name')).toBe(names[0]); // a folder: they come first
  await page.keyboard.press('Enter');
  await page.waitForURL(`**/files/${names[0]}`);
  await page.keyboard.press('Backspace');
  await page.waitForURL('**/files');
  await row(page, 'dropped-2.txt').waitFor();
  const target = names.indexOf('dropped-2.txt');
  for (let i = 0; i <= target; i++) await page.keyboard.press('ArrowDown');
  expect(await page.locator('tbody tr[aria-selected="true"]').getAttribute('data-name')).toBe('dropped-2.txt');
  await page.keyboard.press('Delete');
  await row(page, 'dropped-2.txt').waitFor({ state: 'detached' });
  const trashed = (await sdk.trash()).find((f) => f.name === 'dropped-2.txt')!;
  await sdk.restoreFile(trashed.id);
  await row(page, 'dropped-2.txt').waitFor();
});

test('dragging a row onto a folder moves it there', async () => {
  const { page } = p;
  await page.dragAndDrop('tr[data-name="dropped-2.txt"]', 'tr[data-name="Docs"]');
  await row(page, 'dropped-2.txt').waitFor({ state: 'detached' });
  expect((await sdk.fileByPath('/Docs/dropped-2.txt'))?.isFolder).toBe(false);
  await sdk.moveFile('/Docs/dropped-2.txt', '/dropped-2.txt');
  await row(page, 'dropped-2.txt').waitFor();
});

test('a file uploaded by the SDK appears in the open page within 2 s, without a reload', async () => {
  const { page } = p;
  const local = path.join(tmp, 'from-cli.txt');
  fs.writeFileSync(local, 'uploaded elsewhere');
  await page.waitForTimeout(300); // the subscription is up (it starts with the page)
  const before = await page.evaluate(() => performance.timeOrigin + performance.now());
  await sdk.upload(local, '/from-cli.txt');
  await row(page, 'from-cli.txt').waitFor({ timeout: 2000 });
  const after = await page.evaluate(() => performance.timeOrigin + performance.now());
  expect(after - before).toBeLessThan(2000 + 500);
  await sdk.deleteFile('/from-cli.txt');
  await row(page, 'from-cli.txt').waitFor({ state: 'detached', timeout: 2000 });
});

test('multi-select: tick two rows, move both to the trash', async () => {
  const { page } = p;
  for (const name of ['tick-a.txt', 'tick-b.txt']) {
    const local = path.join(tmp, name);
    fs.writeFileSync(local, name);
    await sdk.upload(local, `/${name}`);
  }
  await row(page, 'tick-b.txt').waitFor();
  await page.getByLabel('Select tick-a.txt').check();
  await page.getByLabel('Select tick-b.txt').check();
  await page.getByText('2 selected').waitFor();
  await page.getByRole('button', { name: 'Move to trash' }).click();
  await row(page, 'tick-a.txt').waitFor({ state: 'detached' });
  await row(page, 'tick-b.txt').waitFor({ state: 'detached' });
  expect((await sdk.trash()).map((f) => f.name)).toEqual(expect.arrayContaining(['tick-a.txt', 'tick-b.txt']));
  expect(await row(page, 'big.bin').count()).toBe(1);
});

test('a 390 px phone viewport shows the listing; sign out returns to sign in', async () => {
  const { page } = p;
  await page.setViewportSize({ width: 390, height: 800 });
  await row(page, 'big.bin').waitFor();
  await screenshot(page, `${store}-files-phone`);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width).toBeLessThanOrEqual(390);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('button', { name: 'Sign in' }).waitFor();
  expect(await page.evaluate(() => localStorage.getItem('tessera.token'))).toBeNull();
  await expect(sdk.listFolder('/')).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
});
});

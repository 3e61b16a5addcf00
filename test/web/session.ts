/**
 * One signed-up person in the web app, on the local store or on S3 (Ceph RGW, under a prefix of
 * its own that `end` empties): a real server, a Chromium page signed up through the form, an SDK
 * client holding the page's own token (another "device" of the same sign-in), and a temporary
 * folder. Shared by the Chromium suites so that each sets up a store the same way.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { TesseraClient } from '../../clients/sdk';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { startTestServer, type TestServer } from '../helpers/server';
import { openPage, signUpInPage, type TestPage } from './browser';

/** s3-md5: S3 with S3_PART_CHECKSUM=MD5 (part URLs bind Content-MD5: the page hashes MD5 too). */
export type WebStore = 'local' | 's3' | 's3-md5';

/** The stores the Chromium suites run on: TEST_WEB_STORES=local narrows them. */
export const WEB_STORES = (process.env.TEST_WEB_STORES ?? 'local,s3').split(',') as WebStore[];

export interface WebSession {
  server: TestServer;
  page: TestPage;
  sdk: TesseraClient;
  email: string;
  /** A temporary folder, removed by `end`. */
  tmp: string;
  /** Where the page's part PUTs go: this server's /blobs route, or RGW itself (ends with '/'). */
  partOrigin: string;
  /** Closes the page and the server, empties the RGW prefix, removes `tmp`. */
  end(): Promise<void>;
}

/** Starts a server on `store` and signs up `label-<time>@example.com` in a fresh page. */
export async function startWebSession(browser: Browser, store: WebStore, label: string): Promise<WebSession> {
  const prefix = `${label}-${Date.now().toString(36)}`;
  let server: TestServer;
  let partOrigin: string;
  if (store === 's3' || store === 's3-md5') {
    const env = rgwEnv();
    server = await startTestServer({ storage: { kind: 's3', s3: { ...env, prefix, ...(store === 's3-md5' ? { partChecksum: 'MD5' as const } : {}) } } });
    partOrigin = `${env.endpoint.replace(/\/+$/, '')}/`;
  } else {
    server = await startTestServer();
    partOrigin = `${server.url}/blobs/`;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-${label}-`));
  const page = await openPage(browser, `${server.url}/`);
  const email = `${label}-${Date.now()}@example.com`;
  await signUpInPage(page.page, email);
  const token = await page.page.evaluate(() => localStorage.getItem('tessera.token'));
  const sdk = new TesseraClient({ server: server.url, token: token! });
  return {
    server, page, sdk, email, tmp, partOrigin,
    async end() {
      await page.context.close();
      await server.stop();
      if (store !== 'local') await emptyRgwPrefix(prefix);
      fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

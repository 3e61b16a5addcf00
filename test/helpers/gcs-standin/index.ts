/**
 * A test-only Google Cloud Storage stand-in: a plain node:http server on 127.0.0.1 that speaks
 * the JSON API calls and the XML multipart API that the GCS adapter makes through the real
 * @google-cloud/storage client, stores objects in memory, and independently verifies
 * authentication (V4 signed URLs, self-signed bearer JWTs), expiry and Content-MD5.
 *
 * Point the client at it with `apiEndpoint: standin.endpoint` and `credentials: standin.credentials`.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KeyObject } from 'node:crypto';
import { verifyBearer, verifySignedUrl } from './auth';
import { sendJsonError, sendXmlError } from './http';
import { handleJson } from './json-api';
import { createServiceAccount, type ServiceAccount } from './service-account';
import { StandinState } from './state';
import { handleXml } from './xml-api';

export { createServiceAccount, type ServiceAccount } from './service-account';

export interface GcsStandin {
  /** e.g. http://127.0.0.1:41234 — JSON API under /storage/v1, XML API at the root. */
  endpoint: string;
  bucket: string;
  /** The throwaway service account the stand-in trusts. */
  serviceAccount: ServiceAccount;
  credentials: ServiceAccount['credentials'];
  state: StandinState;
  /** Trust one more service account's public key. */
  trust(account: ServiceAccount): void;
  close(): Promise<void>;
}

export async function startGcsStandin(opts: { bucket?: string } = {}): Promise<GcsStandin> {
  const bucket = opts.bucket ?? 'tessera-test';
  const serviceAccount = createServiceAccount();
  const keys = new Map<string, KeyObject>([[serviceAccount.clientEmail, serviceAccount.publicKey]]);
  const state = new StandinState([bucket]);

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const jsonPath = url.pathname.match(/^(?:\/download)?\/storage\/v1(\/.*)$/)?.[1];
    const fail = (e: unknown) => {
      if (!res.headersSent) sendXmlError(res, 500, 'InternalError', String(e));
      else res.destroy();
    };
    try {
      if (jsonPath !== undefined) {
        const auth = verifyBearer(req, keys);
        if (!auth.ok) return sendJsonError(res, auth.status, 'required', auth.message);
        return handleJson({ req, res, url, state }, jsonPath);
      }
      const auth = url.searchParams.has('X-Goog-Signature') ? verifySignedUrl(req, url, keys) : verifyBearer(req, keys);
      if (!auth.ok) return sendXmlError(res, auth.status, auth.code, auth.message);
      const [, b = '', ...rest] = url.pathname.split('/');
      const key = rest.map(decodeURIComponent).join('/');
      handleXml({ req, res, url, bucket: decodeURIComponent(b), key, state }).catch(fail);
    } catch (e) {
      fail(e);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    serviceAccount,
    credentials: serviceAccount.credentials,
    state,
    trust: (account) => void keys.set(account.clientEmail, account.publicKey),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

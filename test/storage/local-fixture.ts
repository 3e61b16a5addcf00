import express from 'express';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { blobRoutes } from '../../src/server/blob-routes';
import { createStorage, localAdapterOf, type LocalOptions } from '../../src/storage/registry';
import { masterKeyId } from '../../src/storage/local/envelope';
import type { LocalStorageAdapter } from '../../src/storage/local';
import type { StorageAdapter } from '../../src/storage/types';
import type { AdapterFixture } from './conformance';

export interface LocalFixture extends AdapterFixture {
  adapter: StorageAdapter;
  inner: LocalStorageAdapter;
  root: string;
  baseUrl: string;
  secret: string;
}

/** A guarded local adapter on a temp dir, its blob routes served on 127.0.0.1:<random>. */
export async function startLocal(opts: { root?: string; minPartSize?: number; secret?: string; encryption?: LocalOptions['encryption'] } = {}): Promise<LocalFixture> {
  const root = opts.root ?? (await mkdtemp(path.join(tmpdir(), 'tessera-local-')));
  const secret = opts.secret ?? 'test-signing-secret';
  const adapter = createStorage({ kind: 'local', local: { root, signingSecret: secret, minPartSize: opts.minPartSize ?? 64 * 1024, encryption: opts.encryption } });
  const inner = localAdapterOf(adapter)!;
  const app = express();
  app.use('/blobs', blobRoutes(inner));
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => server.once('listening', resolve).once('error', reject));
  const { port } = server.address() as AddressInfo;
  return {
    adapter,
    inner,
    root,
    secret,
    baseUrl: `http://127.0.0.1:${port}`,
    smallPartSize: 16,
    encryption: opts.encryption ? { algorithm: 'AES-256-GCM', keyId: masterKeyId(opts.encryption.keys[0]).toString('hex') } : undefined,
    rawBytes: (key) => readFile(path.join(root, 'objects', ...key.split('/'))),
    async cleanup() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (!opts.root) await rm(root, { recursive: true, force: true });
    },
  };
}

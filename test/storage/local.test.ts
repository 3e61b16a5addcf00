import type { StorageAdapter } from '../../src/storage/types';
import { describeStorageAdapter } from './conformance';
import { startLocal } from './local-fixture';

describeStorageAdapter('local', () => startLocal());

/** The same contract when the caller gives a part size, so parts of at most that size are written in place. */
describeStorageAdapter('local, parts written in place', async () => {
  const fx = await startLocal();
  const partSize = fx.adapter.limits.minPartSize;
  const adapter: StorageAdapter = Object.create(fx.adapter, {
    createMultipartUpload: { value: (key: string, opts?: { contentType?: string }) => fx.adapter.createMultipartUpload(key, { ...opts, partSize }) },
  });
  return { ...fx, adapter };
});

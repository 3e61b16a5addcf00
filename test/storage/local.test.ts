import { randomBytes } from 'node:crypto';
import type { StorageAdapter } from '../../src/storage/types';
import { describeStorageAdapter } from './conformance';
import { startLocal } from './local-fixture';

/** The same contract when the caller gives a part size, so parts of at most that size are written in place. */
function inPlace(start: typeof startLocal, opts: Parameters<typeof startLocal>[0] = {}) {
  return async () => {
    const fx = await start(opts);
    const partSize = fx.adapter.limits.minPartSize;
    const adapter: StorageAdapter = Object.create(fx.adapter, {
      createMultipartUpload: { value: (key: string, o?: { contentType?: string }) => fx.adapter.createMultipartUpload(key, { ...o, partSize }) },
    });
    return { ...fx, adapter };
  };
}

describeStorageAdapter('local', () => startLocal());
describeStorageAdapter('local, parts written in place', inPlace(startLocal));

/** Encryption at rest on (./envelope), with small segments so ranges cross many of them. */
const encryption = { keys: [randomBytes(32)], segmentSize: 4096 };
describeStorageAdapter('local, encrypted', () => startLocal({ encryption }));
describeStorageAdapter('local, encrypted, parts written in place', inPlace(startLocal, { encryption }));

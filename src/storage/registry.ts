import { guardKeys, unwrap } from './guard';
import { LocalStorageAdapter, type LocalOptions } from './local';
import type { GcsOptions } from './gcs';
import type { S3Options } from './s3';
import type { StorageAdapter } from './types';

export type { GcsOptions, LocalOptions, S3Options };

export type StorageConfig =
  | { kind: 'local'; local: LocalOptions }
  | { kind: 's3'; s3: S3Options }
  | { kind: 'gcs'; gcs: GcsOptions };

type AdapterClass<O> = new (options: O) => StorageAdapter;

/**
 * The configured adapter, always wrapped by `guardKeys` so every key is validated once.
 * The S3 and GCS adapters are loaded lazily (type-only imports above), so their SDKs load
 * only when configured.
 */
export function createStorage(config: StorageConfig): StorageAdapter {
  switch (config.kind) {
    case 'local':
      return guardKeys(new LocalStorageAdapter(config.local));
    case 's3': {
      const { S3StorageAdapter } = require('./s3') as { S3StorageAdapter: AdapterClass<S3Options> };
      return guardKeys(new S3StorageAdapter(config.s3));
    }
    case 'gcs': {
      const { GcsStorageAdapter } = require('./gcs') as { GcsStorageAdapter: AdapterClass<GcsOptions> };
      return guardKeys(new GcsStorageAdapter(config.gcs));
    }
    default:
      throw new Error(`unknown storage kind: ${(config as { kind: unknown }).kind}`);
  }
}

/** The local adapter behind `adapter`, if that is what it is (the server then mounts blobRoutes). */
export function localAdapterOf(adapter: StorageAdapter): LocalStorageAdapter | undefined {
  const inner = unwrap(adapter);
  return inner instanceof LocalStorageAdapter ? inner : undefined;
}

export { unwrap };

import { guardKeys } from '../../src/storage/guard';
import { GcsStorageAdapter } from '../../src/storage/gcs';
import { startGcsStandin } from '../helpers/gcs-standin';
import { describeStorageAdapter } from './conformance';

// The real @google-cloud/storage client, over HTTP, against the test-only GCS stand-in.
describeStorageAdapter('gcs', async () => {
  const standin = await startGcsStandin();
  const adapter = new GcsStorageAdapter({ bucket: standin.bucket, apiEndpoint: standin.endpoint, credentials: standin.credentials });
  return { adapter: guardKeys(adapter), cleanup: () => standin.close() };
});

import { randomBytes } from 'node:crypto';
import { guardKeys } from '../../src/storage/guard';
import { GcsStorageAdapter } from '../../src/storage/gcs';
import { describeStorageAdapter } from './conformance';

// Real Google Cloud Storage: only with GCS_TEST_BUCKET and GOOGLE_APPLICATION_CREDENTIALS set.
const bucket = process.env.GCS_TEST_BUCKET;
const keyFilename = process.env.GOOGLE_APPLICATION_CREDENTIALS;

if (bucket && keyFilename) {
  describeStorageAdapter('gcs-live', async () => {
    const prefix = `tessera-test/${Date.now().toString(36)}-${randomBytes(3).toString('hex')}/`;
    return { adapter: guardKeys(new GcsStorageAdapter({ bucket, keyFilename, prefix })), cleanup: async () => undefined };
  });
} else {
  it('gcs live contract', () => {
    console.log('skipped: no GCS credentials');
  });
}

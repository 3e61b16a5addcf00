import { randomBytes } from 'node:crypto';
import { guardKeys } from '../../src/storage/guard';
import { S3StorageAdapter } from '../../src/storage/s3';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { describeStorageAdapter } from './conformance';

describeStorageAdapter('s3', async () => {
  const env = rgwEnv();
  const prefix = `test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  return { adapter: guardKeys(new S3StorageAdapter({ ...env, prefix })), cleanup: () => emptyRgwPrefix(prefix) };
});

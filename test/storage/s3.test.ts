import { randomBytes } from 'node:crypto';
import { guardKeys } from '../../src/storage/guard';
import { S3StorageAdapter } from '../../src/storage/s3';
import type { S3Sse } from '../../src/storage/s3/options';
import { emptyRgwPrefix, radosObjectBytes, radosUnavailable, rgwEnv, RGW_TEST_KMS_KEY } from '../helpers/rgw';
import { describeStorageAdapter } from './conformance';

function rgw(sse?: S3Sse) {
  return async () => {
    const env = rgwEnv();
    const prefix = `test-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
    const unavailable = radosUnavailable();
    return {
      adapter: guardKeys(new S3StorageAdapter({ ...env, prefix, sse })),
      cleanup: () => emptyRgwPrefix(prefix),
      encryption: sse && { algorithm: sse.algorithm, keyId: sse.kmsKeyId },
      rawBytes: unavailable ? undefined : async (key: string) => radosObjectBytes(`${prefix}/${key}`),
      rawBytesUnavailable: unavailable,
    };
  };
}

describeStorageAdapter('s3', rgw());
// SSE-KMS with RGW's 'testing' KMS backend (keys in its ceph.conf, scripts/start-rgw.sh)
describeStorageAdapter('s3, SSE-KMS', rgw({ algorithm: 'aws:kms', kmsKeyId: RGW_TEST_KMS_KEY }));

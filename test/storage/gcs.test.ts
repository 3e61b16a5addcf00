import { guardKeys } from '../../src/storage/guard';
import { GcsStorageAdapter } from '../../src/storage/gcs';
import { startGcsStandin } from '../helpers/gcs-standin';
import { describeStorageAdapter } from './conformance';

const KMS_KEY = 'projects/tessera-test/locations/europe-west1/keyRings/tessera/cryptoKeys/objects';

// The real @google-cloud/storage client, over HTTP, against the test-only GCS stand-in.
function standin(kmsKeyName?: string) {
  return async () => {
    const s = await startGcsStandin();
    const adapter = new GcsStorageAdapter({ bucket: s.bucket, apiEndpoint: s.endpoint, credentials: s.credentials, kmsKeyName });
    return {
      adapter: guardKeys(adapter),
      cleanup: () => s.close(),
      encryption: kmsKeyName ? { algorithm: 'gcs-kms', keyId: kmsKeyName } : undefined,
      // the stand-in's bytes are the plaintext either way: it records the CMEK, GCS applies it
      rawBytes: kmsKeyName ? undefined : async (key: string) => s.state.buckets.get(s.bucket)!.get(key)!.data,
      rawBytesUnavailable: 'the GCS stand-in keeps plaintext in memory and only records the CMEK; encrypting is GCS\'s part (not tested here)',
    };
  };
}

describeStorageAdapter('gcs', standin());
describeStorageAdapter('gcs, CMEK (GCS_KMS_KEY)', standin(KMS_KEY));

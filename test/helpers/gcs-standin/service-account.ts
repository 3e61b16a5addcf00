/**
 * A throwaway service-account key, generated offline for one test run.
 *
 * `universe_domain` is deliberately not googleapis.com: the library's OAuth flow (gtoken) posts
 * to a hard-coded https://www.googleapis.com/oauth2/v4/token and ignores `token_uri`, whereas in
 * a non-default universe google-auth-library authenticates with a self-signed JWT per request
 * (https://developers.google.com/identity/protocols/oauth2/service-account#jwt-auth), which the
 * stand-in verifies with the account's public key. Nothing leaves 127.0.0.1.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

export interface ServiceAccount {
  clientEmail: string;
  publicKey: KeyObject;
  /** What to pass as `credentials` to @google-cloud/storage. */
  credentials: { type: 'service_account'; client_email: string; private_key: string; universe_domain: string };
}

export const STANDIN_UNIVERSE = 'gcs-standin.invalid';

export function createServiceAccount(name = 'tessera-test'): ServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const clientEmail = `${name}-${randomBytes(4).toString('hex')}@standin-project.iam.gserviceaccount.com`;
  return {
    clientEmail,
    publicKey,
    credentials: {
      type: 'service_account',
      client_email: clientEmail,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      universe_domain: STANDIN_UNIVERSE,
    },
  };
}

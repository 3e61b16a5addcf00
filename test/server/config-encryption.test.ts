/** The encryption-at-rest settings: LOCAL_ENCRYPTION, ENCRYPTION_KEY / <DATA_DIR>/encryption-keys, S3_SSE, GCS_KMS_KEY. */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/server/config';
import { KeyRing } from '../../src/storage/local/envelope';
import { rotateKeys } from '../../src/storage/local/rotation';

const problemsOf = (env: Record<string, string>): string => {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  return '';
};

describe('encryption-at-rest configuration', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cfg-enc-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const local = (env: Record<string, string>) => {
    const c = loadConfig({ DATA_DIR: dir, ...env });
    if (c.storage.kind !== 'local') throw new Error('local expected');
    return c.storage.local;
  };

  it('local: on by default, with a key generated once under DATA_DIR (mode 0600)', () => {
    const first = local({}).encryption!;
    expect(first.keys).toHaveLength(1);
    expect(first.allowPlaintext).toBe(false);
    const file = path.join(dir, 'encryption-keys');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(local({}).encryption!.keys[0].equals(first.keys[0])).toBe(true);
    // off: new objects plaintext; the existing key still reads what was encrypted
    expect(local({ LOCAL_ENCRYPTION: 'off' }).encryption).toEqual({ keys: first.keys, write: false });
    fs.rmSync(path.join(dir, 'encryption-keys'));
    expect(local({ LOCAL_ENCRYPTION: 'off' }).encryption).toBeUndefined();
    expect(fs.existsSync(path.join(dir, 'encryption-keys'))).toBe(false);
    local({});
    expect(local({ LOCAL_ENCRYPTION_ALLOW_PLAINTEXT: 'true' }).encryption!.allowPlaintext).toBe(true);
  });

  it('a store that already held objects when encryption was turned on keeps serving them until --encrypt-plaintext has encrypted them', async () => {
    const root = path.join(dir, 'blobs');
    const object = path.join(root, 'objects', 'u', 'old-object');
    fs.mkdirSync(path.dirname(object), { recursive: true });
    fs.writeFileSync(object, 'written before encryption at rest');
    const upgraded = local({}).encryption!;
    expect(upgraded.allowPlaintext).toBe(true);
    expect(local({}).encryption!.allowPlaintext).toBe(true); // on every start, not only the first
    expect(local({ LOCAL_ENCRYPTION_ALLOW_PLAINTEXT: 'false' }).encryption!.allowPlaintext).toBe(false); // the setting wins

    const report = await rotateKeys(root, new KeyRing(upgraded.keys), { encryptPlaintext: true });
    expect(report).toMatchObject({ encryptedNow: 1, plaintextObjects: 0 });
    expect(fs.readFileSync(object).includes('written before')).toBe(false);
    expect(local({}).encryption!.allowPlaintext).toBe(false);

    // turned off, an object written in plaintext, turned on again: served again until encrypted
    local({ LOCAL_ENCRYPTION: 'off' });
    fs.writeFileSync(path.join(root, 'objects', 'u', 'while-off'), 'plaintext while encryption was off');
    expect(local({}).encryption!.allowPlaintext).toBe(true);
  });

  it('a new, empty store refuses objects without an envelope from the start', () => {
    fs.mkdirSync(path.join(dir, 'blobs', 'objects'), { recursive: true });
    expect(local({}).encryption!.allowPlaintext).toBe(false);
    fs.writeFileSync(path.join(dir, 'blobs', 'objects', 'later'), 'appeared after encryption was on');
    expect(local({}).encryption!.allowPlaintext).toBe(false);
  });

  it('ENCRYPTION_KEY: comma-separated keys (hex or base64), current first; anything else is a ConfigError', () => {
    const [a, b] = [randomBytes(32), randomBytes(32)];
    const keys = local({ ENCRYPTION_KEY: `${a.toString('hex')}, ${b.toString('base64')}` }).encryption!.keys;
    expect(keys.map((k) => k.toString('hex'))).toEqual([a.toString('hex'), b.toString('hex')]);
    expect(fs.existsSync(path.join(dir, 'encryption-keys'))).toBe(false);
    expect(problemsOf({ DATA_DIR: dir, ENCRYPTION_KEY: 'short' })).toMatch(/ENCRYPTION_KEY/);
    expect(problemsOf({ DATA_DIR: dir, ENCRYPTION_KEY: randomBytes(16).toString('hex') })).toMatch(/ENCRYPTION_KEY/);
  });

  it('S3_SSE and S3_SSE_KMS_KEY_ID; S3_PART_CHECKSUM; GCS_KMS_KEY', () => {
    const s3 = (env: Record<string, string>) => {
      const c = loadConfig({ DATA_DIR: dir, STORAGE: 's3', S3_BUCKET: 'b', ...env });
      return c.storage.kind === 's3' ? c.storage.s3.sse : 'not s3';
    };
    expect(s3({})).toBeUndefined();
    expect(s3({ S3_SSE: 'AES256' })).toEqual({ algorithm: 'AES256', kmsKeyId: undefined });
    expect(s3({ S3_SSE: 'aws:kms', S3_SSE_KMS_KEY_ID: 'k1' })).toEqual({ algorithm: 'aws:kms', kmsKeyId: 'k1' });
    expect(problemsOf({ DATA_DIR: dir, STORAGE: 's3', S3_BUCKET: 'b', S3_SSE: 'rot13' })).toMatch(/S3_SSE must be/);
    expect(problemsOf({ DATA_DIR: dir, STORAGE: 's3', S3_BUCKET: 'b', S3_SSE: 'AES256', S3_SSE_KMS_KEY_ID: 'k' })).toMatch(/S3_SSE_KMS_KEY_ID needs/);
    const partChecksum = (env: Record<string, string>) => {
      const c = loadConfig({ DATA_DIR: dir, STORAGE: 's3', S3_BUCKET: 'b', ...env });
      return c.storage.kind === 's3' ? c.storage.s3.partChecksum : 'not s3';
    };
    expect(partChecksum({})).toBe('SHA256');
    expect(partChecksum({ S3_PART_CHECKSUM: 'MD5' })).toBe('MD5');
    expect(problemsOf({ DATA_DIR: dir, STORAGE: 's3', S3_BUCKET: 'b', S3_PART_CHECKSUM: 'crc32' })).toMatch(/S3_PART_CHECKSUM must be/);
    const g = loadConfig({ DATA_DIR: dir, STORAGE: 'gcs', GCS_BUCKET: 'b', GCS_KMS_KEY: 'projects/p/locations/l/keyRings/r/cryptoKeys/k' });
    expect(g.storage.kind === 'gcs' && g.storage.gcs.kmsKeyName).toBe('projects/p/locations/l/keyRings/r/cryptoKeys/k');
  });
});

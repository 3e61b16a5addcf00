import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Where the test RGW (scripts/start-rgw.sh) answers, and how to sign for it. */
export interface RgwEnv {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  bucket: string;
  forcePathStyle: boolean;
}

/** scripts/start-rgw.sh of the project, from test/helpers and from dist/test/helpers (the benches) alike. */
const SCRIPT = [path.resolve(__dirname, '../../scripts/start-rgw.sh'), path.resolve(__dirname, '../../../scripts/start-rgw.sh')].find((f) => fs.existsSync(f))
  ?? path.resolve(__dirname, '../../scripts/start-rgw.sh');
let cached: RgwEnv | undefined;

/**
 * The RGW to test against. Runs scripts/start-rgw.sh, which is idempotent (re-prints the
 * environment when its RGW is already up, creating the bucket if needed) and serialises
 * concurrent callers, so every test file may call this. Honours S3_* / RGW_* overrides.
 * Throws with the script's output if the RGW cannot be started.
 */
export function rgwEnv(): RgwEnv {
  if (cached) return cached;
  let out: string;
  try {
    out = execFileSync(SCRIPT, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`scripts/start-rgw.sh failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
  }
  const vars: Record<string, string> = {};
  for (const line of out.split('\n')) {
    const m = /^(S3_[A-Z_]+)=(.*)$/.exec(line);
    if (m) vars[m[1]] = m[2];
  }
  cached = {
    endpoint: vars.S3_ENDPOINT,
    region: vars.S3_REGION,
    accessKeyId: vars.S3_ACCESS_KEY,
    secretAccessKey: vars.S3_SECRET_KEY,
    bucket: vars.S3_BUCKET,
    forcePathStyle: vars.S3_FORCE_PATH_STYLE === 'true',
  };
  return cached;
}

/**
 * Deletes everything a test left under `prefix` in the test bucket: objects and unfinished
 * multipart uploads (RGW's memstore keeps them in RAM across test runs otherwise).
 */
export async function emptyRgwPrefix(prefix: string): Promise<void> {
  const { S3Client, ListObjectsV2Command, DeleteObjectsCommand, ListMultipartUploadsCommand, AbortMultipartUploadCommand } = await import('@aws-sdk/client-s3');
  const env = rgwEnv();
  const Prefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
  const s3 = new S3Client({
    endpoint: env.endpoint, region: env.region, forcePathStyle: env.forcePathStyle,
    credentials: { accessKeyId: env.accessKeyId, secretAccessKey: env.secretAccessKey },
  });
  try {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: env.bucket, Prefix, ContinuationToken: token }));
      const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
      if (keys.length) await s3.send(new DeleteObjectsCommand({ Bucket: env.bucket, Delete: { Objects: keys, Quiet: true } }));
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    for (;;) {
      const page = await s3.send(new ListMultipartUploadsCommand({ Bucket: env.bucket, Prefix }));
      const uploads = page.Uploads ?? [];
      await Promise.all(uploads.map((u) => s3.send(new AbortMultipartUploadCommand({ Bucket: env.bucket, Key: u.Key!, UploadId: u.UploadId! }))));
      if (!page.IsTruncated || uploads.length === 0) break;
    }
  } finally {
    s3.destroy();
  }
}

/**
 * The bytes RGW keeps in RADOS for the object `fullKey` of the test bucket (its head object,
 * multipart parts and shadow stripes, concatenated in name order), read with the `rados`
 * CLI against the test cluster's ceph.conf: what is at rest, past RGW. Throws when the CLI
 * or the cluster's conf is missing (see radosUnavailable).
 */
export function radosObjectBytes(fullKey: string): Buffer {
  const conf = radosConf();
  const pool = 'default.rgw.buckets.data';
  const names = execFileSync('rados', ['-c', conf, '-p', pool, 'ls'], { encoding: 'utf8', timeout: 60_000, maxBuffer: 256 * 1024 * 1024 })
    .split('\n')
    .filter((n) => new RegExp(`_(?:_multipart_|_shadow_)?${escapeRegExp(fullKey)}(?:$|\\.)`).test(n))
    .sort();
  return Buffer.concat(names.map((n) => execFileSync('rados', ['-c', conf, '-p', pool, 'get', n, '-'], { timeout: 60_000, maxBuffer: 256 * 1024 * 1024 })));
}

/** Why radosObjectBytes cannot run here, or undefined when it can. */
export function radosUnavailable(): string | undefined {
  try {
    execFileSync('rados', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'the rados CLI is not installed';
  }
  return require('node:fs').existsSync(radosConf()) ? undefined : `no ${radosConf()} (RGW not started by scripts/start-rgw.sh)`;
}

function radosConf(): string {
  return path.join(process.env.RGW_BASE ?? '/tmp/tessera-rgw', 'ceph.conf');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The SSE-KMS key ids RGW's 'testing' KMS backend knows (scripts/start-rgw.sh). */
export const RGW_TEST_KMS_KEY = 'tessera-test-key-1';

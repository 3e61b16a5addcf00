/**
 * The S3 peers of the transfer benchmarks: the RGW that scripts/start-rgw.sh runs, and the
 * environment under which `aws` and `rclone` reach it (credentials and endpoint from the
 * environment only, no user config files).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { REPO } from './lib';

/** `flag` if set, else Debian's awscli 2 (a pip-installed aws v1 may come first on PATH). */
export function awsBinary(flag: string): string {
  return flag || (fs.existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws');
}

/** Starts RGW if needed (scripts/start-rgw.sh is idempotent) and returns its S3_* settings. */
export function rgwEnv(): Record<string, string> {
  const r = spawnSync(path.join(REPO, 'scripts', 'start-rgw.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/start-rgw.sh failed');
  const env: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^(S3_[A-Z_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

/** The environment for aws and rclone (rclone's remote is named `RGW`); `work` holds an empty config file. */
export function peerEnv(s3: Record<string, string>, work: string): NodeJS.ProcessEnv {
  const emptyCfg = path.join(work, 'empty.cfg');
  fs.writeFileSync(emptyCfg, '');
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.AWS_CA_BUNDLE; // plain http endpoint; rclone refuses a CA bundle it cannot load
  return Object.assign(env, {
    AWS_ACCESS_KEY_ID: s3.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: s3.S3_SECRET_KEY, AWS_DEFAULT_REGION: s3.S3_REGION,
    AWS_CONFIG_FILE: emptyCfg, AWS_SHARED_CREDENTIALS_FILE: emptyCfg, AWS_PAGER: '',
    RCLONE_CONFIG: emptyCfg,
    RCLONE_CONFIG_RGW_TYPE: 's3', RCLONE_CONFIG_RGW_PROVIDER: 'Ceph', RCLONE_CONFIG_RGW_ENDPOINT: s3.S3_ENDPOINT,
    RCLONE_CONFIG_RGW_ACCESS_KEY_ID: s3.S3_ACCESS_KEY, RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY: s3.S3_SECRET_KEY,
    RCLONE_CONFIG_RGW_REGION: s3.S3_REGION, RCLONE_CONFIG_RGW_NO_CHECK_BUCKET: 'true',
  });
}

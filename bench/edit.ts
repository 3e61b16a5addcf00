/**
 * DESIGN.md's "a 1 MiB edit in the middle of a 1 GiB synced file moves at most two parts":
 * Tessera CLI uploads a 1 GiB file to the S3 store (Ceph RGW), 1 MiB in its middle is rewritten,
 * and the CLI uploads it again; reported: parts and bytes sent, wall times, and the same second
 * upload by `aws s3 cp` (which sends the whole file again) in the same run.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/edit.js [--runs 3] [--size-mib 1024]
 *
 * Needs `npm run build` and scripts/start-rgw.sh (called here). Every run's objects are deleted
 * after it and RGW's garbage collector runs as in bench/transfer.ts. Prints a table; exits non-zero
 * only on error (including a re-upload that sends more than two parts, or a download that differs).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { arg, MiB, REPO, drainRgw, log, median, mustRun, runBench, sameFile, startServer, table, writeRandomFile } from './lib';

const RUNS = Number(arg('runs', '3'));
const SIZE = Number(arg('size-mib', '1024')) * MiB;
const AWS = fs.existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

async function main(): Promise<void> {
  const r = spawnSync(path.join(REPO, 'scripts', 'start-rgw.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/start-rgw.sh failed');
  const s3 = Object.fromEntries(r.stdout.split('\n').map((l) => /^(S3_[A-Z_]+)=(.*)$/.exec(l)).filter((m) => m).map((m) => [m![1], m![2]]));
  const prefix = `bench-edit-${Date.now()}`;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-bench-edit-'));
  const server = await startServer({ STORAGE: 's3', ...s3, S3_PREFIX: `${prefix}/tessera/`, DATA_DIR: path.join(work, 'server') }, path.join(work, 'server.log'));
  const cli = path.join(REPO, 'bin', 'tessera.js');
  const peerEnv: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: s3.S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: s3.S3_SECRET_KEY, AWS_DEFAULT_REGION: s3.S3_REGION };
  delete peerEnv.AWS_CA_BUNDLE;
  const awsEp = ['--endpoint-url', s3.S3_ENDPOINT];
  const rows: { first: number; second: number; sent: string; aws: number }[] = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      await drainRgw();
      const src = path.join(work, `file-${run}.bin`);
      await writeRandomFile(src, SIZE);
      const env = { ...process.env, TESSERA_SERVER: server.url, TESSERA_CONFIG_DIR: path.join(work, `cli-${run}`) };
      await mustRun(process.execPath, [cli, 'signup', '--email', `edit-${run}-${process.pid}@example.com`, '--password', 'bench-password-1'], { env });
      const first = await mustRun(process.execPath, [cli, 'upload', src, '/file.bin'], { env });
      await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', src, `s3://${s3.S3_BUCKET}/${prefix}/aws-${run}.bin`], { env: peerEnv });
      // rewrite 1 MiB in the middle
      const fd = fs.openSync(src, 'r+');
      fs.writeSync(fd, Buffer.alloc(MiB, run), 0, MiB, Math.floor(SIZE / 2) - MiB / 2);
      fs.closeSync(fd);
      const second = await mustRun(process.execPath, [cli, 'upload', src, '/file.bin'], { env });
      const aws = await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', src, `s3://${s3.S3_BUCKET}/${prefix}/aws-${run}.bin`], { env: peerEnv });
      const copied = Number(/(\d+) unchanged part\(s\) copied/.exec(second.stderr + second.stdout)?.[1] ?? 0);
      const parts = Math.ceil(SIZE / (8 * MiB));
      if (copied < parts - 2) throw new Error(`run ${run}: only ${copied} of ${parts} parts were copied: ${second.stderr.slice(-300)}`);
      const out = path.join(work, 'check.bin');
      await mustRun(process.execPath, [cli, 'download', '--no-fsync', '/file.bin', out], { env });
      if (!sameFile(src, out)) throw new Error(`run ${run}: the downloaded file differs`);
      fs.rmSync(out);
      const sentMiB = /\((\d+(?:\.\d+)?) (MiB|GiB) in/.exec(second.stderr + second.stdout);
      rows.push({ first: first.seconds, second: second.seconds, aws: aws.seconds, sent: `${sentMiB ? `${sentMiB[1]} ${sentMiB[2]}` : '?'} sent, ${copied} parts copied` });
      log(`run ${run}: first upload ${first.seconds.toFixed(2)} s, after the edit ${second.seconds.toFixed(2)} s (${rows[run - 1].sent}); aws cp again ${aws.seconds.toFixed(2)} s`);
      fs.rmSync(src);
      // the memstore OSD holds everything in RAM: drop this run's objects (Tessera's too, behind its back)
      await mustRun(AWS, [...awsEp, 's3', 'rm', '--recursive', '--only-show-errors', `s3://${s3.S3_BUCKET}/${prefix}/`], { env: peerEnv });
    }
  } finally {
    await server.stop();
    await mustRun(AWS, [...awsEp, 's3', 'rm', '--recursive', '--only-show-errors', `s3://${s3.S3_BUCKET}/${prefix}/`], { env: peerEnv }).catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
  const m = (k: 'first' | 'second' | 'aws') => median(rows.map((x) => x[k]));
  process.stdout.write(`A ${SIZE / MiB} MiB file, 1 MiB rewritten in its middle, uploaded again (Tessera CLI vs aws s3 cp, RGW), ${RUNS} run(s); ${new Date().toISOString()}\n\n`);
  process.stdout.write(table(['run', 'first upload (s)', 'upload after the edit (s)', 'what moved', 'aws s3 cp after the edit (s)'],
    rows.map((x, i) => [i + 1, x.first.toFixed(2), x.second.toFixed(2), x.sent, x.aws.toFixed(2)])) + '\n');
  process.stdout.write(`\nmedian: after the edit ${m('second').toFixed(2)} s vs first upload ${m('first').toFixed(2)} s; vs aws s3 cp ${m('aws').toFixed(2)} s: ${(m('second') / m('aws')).toFixed(2)}x\n`);
}

runBench(main);

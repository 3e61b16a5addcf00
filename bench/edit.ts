/**
 * Bytes moved by edits of a large file (issue 17, goal 1): a file (1 GiB) is uploaded, then edited
 * four ways one after another: 1 MiB rewritten in the middle, 1 byte inserted at the start, 1 MiB
 * inserted in the middle, 1 MiB deleted from the middle. After each edit Tessera (the SDK, in this
 * process, against a server on RGW and on the local store) uploads the file and downloads it over
 * the older local copy; on RGW `aws s3 cp` and `rclone copyto` upload the same file and
 * `rclone copyto` downloads it over its older copy. Reported per edit: parts and bytes Tessera moved
 * each way (the rest copied inside the store / taken from the older copy), the bytes the others
 * moved (rclone's own count; aws s3 cp always sends the whole file), wall times.
 *
 *   npm run build && npx tsc -p bench/tsconfig.json && node dist/bench/edit.js [--runs 1] [--size-mib 1024] [--stores s3,local] [--rgw-limit-gib 6]
 *
 * Needs scripts/start-rgw.sh (called here), aws and rclone. Exits non-zero on error, including a
 * Tessera transfer that moves more than two parts, or a file that arrives different.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TesseraClient } from '../clients/sdk/client';
import { arg, drainRgw, fmtBytes, GiB, log, MiB, mustRun, REPO, runBench, sameFile, startServer, table, writeRandomFile } from './lib';
import { peerEnv } from './peers';

const RUNS = Number(arg('runs', '1'));
const SIZE = Number(arg('size-mib', '1024')) * MiB;
const STORES = arg('stores', 's3,local').split(',');
/** RGW's OSD (memstore, shared by every test of the machine) is drained by its GC past this. */
const RGW_LIMIT = Number(arg('rgw-limit-gib', '6')) * GiB;
const AWS = fs.existsSync('/usr/bin/aws') ? '/usr/bin/aws' : 'aws';

/** The edits, applied one after another to the same file (each reads and rewrites it whole). */
const EDITS: [string, (d: Buffer) => Buffer][] = [
  ['1 MiB rewritten in the middle', (d) => {
    Buffer.alloc(MiB, 0x5a).copy(d, Math.floor(d.length / 2) - MiB / 2);
    return d;
  }],
  ['1 byte inserted at the start', (d) => Buffer.concat([Buffer.from([0x42]), d])],
  ['1 MiB inserted in the middle', (d) => Buffer.concat([d.subarray(0, Math.floor(d.length / 2) + 4321), Buffer.alloc(MiB, 0x17), d.subarray(Math.floor(d.length / 2) + 4321)])],
  ['1 MiB deleted from the middle', (d) => Buffer.concat([d.subarray(0, Math.floor(d.length / 2) - 98765), d.subarray(Math.floor(d.length / 2) - 98765 + MiB)])],
];

interface Row { store: string; run: number; edit: string; up: string; upS: number; down: string; downS: number; aws: string; rclone: string; rcloneDown: string }

async function main(): Promise<void> {
  const r = spawnSync(path.join(REPO, 'scripts', 'start-rgw.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error('scripts/start-rgw.sh failed');
  const s3 = Object.fromEntries(r.stdout.split('\n').map((l) => /^(S3_[A-Z_]+)=(.*)$/.exec(l)).filter((m) => m).map((m) => [m![1], m![2]]));
  const prefix = `bench-edit-${Date.now()}`;
  const work = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'tessera-bench-edit-'));
  const env = peerEnv(s3, work);
  const awsEp = ['--endpoint-url', s3.S3_ENDPOINT];
  const rows: Row[] = [];
  /** Deletes, behind Tessera's back, the objects of revisions older than the one `sessionId` wrote, and lets RGW collect them. */
  const dropOlderRevisions = async (sessionId: string) => {
    const ls = await mustRun(AWS, [...awsEp, 's3', 'ls', '--recursive', `s3://${s3.S3_BUCKET}/${prefix}/tessera/`], { env });
    for (const key of ls.stdout.split('\n').map((l) => l.trim().split(/\s+/)[3]).filter((k) => k && !k.endsWith(sessionId))) {
      await mustRun(AWS, [...awsEp, 's3', 'rm', '--only-show-errors', `s3://${s3.S3_BUCKET}/${key}`], { env });
    }
    await drainRgw(RGW_LIMIT);
  };
  const cleanup = () => mustRun(AWS, [...awsEp, 's3', 'rm', '--recursive', '--only-show-errors', `s3://${s3.S3_BUCKET}/${prefix}/`], { env });
  try {
    for (const store of STORES) {
      const storeEnv = store === 's3' ? { STORAGE: 's3', ...s3, S3_PREFIX: `${prefix}/tessera/` } : { STORAGE: 'local' };
      const server = await startServer({ ...storeEnv, DATA_DIR: path.join(work, `server-${store}`) }, path.join(work, `server-${store}.log`));
      try {
        for (let run = 1; run <= RUNS; run++) {
          if (store === 's3') await drainRgw(RGW_LIMIT);
          const src = path.join(work, 'file.bin');
          const mirror = path.join(work, 'mirror.bin'); // Tessera's older local copy
          const rcloneCopy = path.join(work, 'rclone', 'file.bin'); // rclone's
          await writeRandomFile(src, SIZE);
          const client = new TesseraClient({ server: server.url });
          await client.signUp(`edit-${store}-${run}-${process.pid}@example.com`, 'bench-password-1');
          await client.upload(src, '/file.bin');
          await client.download('/file.bin', mirror);
          const key = `s3://${s3.S3_BUCKET}/${prefix}/aws-${run}.bin`;
          const rcloneKey = `RGW:${s3.S3_BUCKET}/${prefix}/rclone-${run}.bin`;
          if (store === 's3') {
            await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', src, key], { env });
            await mustRun('rclone', ['copyto', src, rcloneKey], { env });
            await mustRun('rclone', ['copyto', rcloneKey, rcloneCopy], { env });
          }
          let data: Buffer = fs.readFileSync(src);
          for (const [edit, apply] of EDITS) {
            data = apply(data);
            fs.writeFileSync(src, data);
            let t = Date.now();
            const up = await client.upload(src, '/file.bin');
            const upS = (Date.now() - t) / 1000;
            t = Date.now();
            const down = await client.download('/file.bin', mirror, { reuseFrom: mirror });
            const downS = (Date.now() - t) / 1000;
            if (!sameFile(src, mirror)) throw new Error(`${store} run ${run}, ${edit}: the downloaded file differs`);
            if (up.partsSent > 2 || down.partsDownloaded > 2) throw new Error(`${store} run ${run}, ${edit}: ${up.partsSent} part(s) up, ${down.partsDownloaded} down`);
            const row: Row = {
              store, run, edit, upS, downS,
              up: `${up.partsSent} part(s), ${fmtBytes(up.bytesSent)} (${up.partsCopied} copied)`,
              down: `${down.partsDownloaded} part(s), ${fmtBytes(down.bytesReceived)} (${down.partsReused} reused)`,
              aws: '-', rclone: '-', rcloneDown: '-',
            };
            if (store === 's3') {
              const a = await mustRun(AWS, [...awsEp, 's3', 'cp', '--only-show-errors', src, key], { env });
              row.aws = `${fmtBytes(data.length)}, ${a.seconds.toFixed(2)} s`;
              const rc = await mustRun('rclone', ['copyto', '-v', '--stats', '1h', src, rcloneKey], { env });
              row.rclone = `${moved(rc.stderr)}, ${rc.seconds.toFixed(2)} s`;
              const rd = await mustRun('rclone', ['copyto', '-v', '--stats', '1h', rcloneKey, rcloneCopy], { env });
              if (!sameFile(src, rcloneCopy)) throw new Error(`rclone's download differs after ${edit}`);
              row.rcloneDown = `${moved(rd.stderr)}, ${rd.seconds.toFixed(2)} s`;
            }
            rows.push(row);
            if (store === 's3') await dropOlderRevisions(up.sessionId); // RGW's memstore holds every byte in RAM
            log(`${store} run ${run}, ${edit}: up ${row.up} in ${upS.toFixed(2)} s, down ${row.down} in ${downS.toFixed(2)} s; aws ${row.aws}; rclone up ${row.rclone}, down ${row.rcloneDown}`);
          }
          fs.rmSync(src, { force: true });
          fs.rmSync(mirror, { force: true });
          if (store === 's3') await cleanup(); // RGW's memstore holds everything in RAM (Tessera's objects too)
        }
      } finally {
        await server.stop();
      }
    }
  } finally {
    await cleanup().catch(() => undefined);
    fs.rmSync(work, { recursive: true, force: true });
  }
  process.stdout.write(`A ${fmtBytes(SIZE)} file edited four ways in turn; after each edit uploaded and downloaded again. ${RUNS} run(s); ${new Date().toISOString()}; ${os.cpus().length} cores (shared: times are noisy)\n\n`);
  process.stdout.write(table(['store', 'run', 'edit', 'Tessera up (parts, bytes)', 'up (s)', 'Tessera down (parts, bytes)', 'down (s)', 'aws s3 cp up', 'rclone copyto up', 'rclone copyto down'],
    rows.map((x) => [x.store, x.run, x.edit, x.up, x.upS.toFixed(2), x.down, x.downS.toFixed(2), x.aws, x.rclone, x.rcloneDown])) + '\n');
}

/** What rclone says it transferred (its final stats line), e.g. "1 GiB". */
function moved(stderr: string): string {
  const m = /Transferred:\s+([\d.]+\s*\w+)\s*\/\s*[\d.]+\s*\w+,\s*100%/.exec(stderr);
  return m ? m[1].replace(/\s+/, ' ') : '?';
}

runBench(main);

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beginInput, codeOf, gql, prepare, putPart, sha256, signUp, SESSION_FIELDS } from '../helpers/gql';
import { emptyRgwPrefix, rgwEnv } from '../helpers/rgw';
import { CRASH_POINTS } from '../../src/storage/local/crash';
import { freePort, killHard, requireBuild, startServerProcess, type ServerProcess } from './processes';

/**
 * Random kill -9 of the real server (dist/) during completeUpload, on the local store and on
 * RGW: each round uploads a random file, sends completeUpload, SIGKILLs the server a random
 * few milliseconds later, restarts it on the same data dir and database, and retries as a
 * client would (completeUpload; re-send what missingParts names; completeUpload). The file
 * must then be at revision 1 with the declared contentHash and exactly the uploaded bytes.
 * Seeded: COMPLETE_KILL_SEED=<n> replays a run (the seed is printed, and named in failures).
 */
const MiB = 1024 * 1024;
const SEED = Number(process.env.COMPLETE_KILL_SEED ?? crypto.randomInt(1, 2 ** 31));

/** mulberry32: a small seeded PRNG. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const stores: [string, number, { min: number; max: number }, () => Record<string, string>][] = [
  ['local', 6, { min: 2 * MiB, max: 12 * MiB }, () => ({ STORAGE: 'local', MIN_PART_SIZE: String(MiB) })],
  ['s3', 4, { min: 6 * MiB, max: 16 * MiB }, () => {
    const e = rgwEnv();
    return {
      STORAGE: 's3', S3_ENDPOINT: e.endpoint, S3_BUCKET: e.bucket, S3_REGION: e.region, S3_ACCESS_KEY: e.accessKeyId,
      S3_SECRET_KEY: e.secretAccessKey, S3_FORCE_PATH_STYLE: 'true', S3_PREFIX: `complete-kill-${crypto.randomBytes(4).toString('hex')}`,
      MIN_PART_SIZE: String(5 * MiB),
    };
  }],
];

/** Where a kill left the local store's upload (for the log): still open, claimed, in trash, or done. */
function storeState(env: Record<string, string>, before: Set<string>): string {
  if (env.STORAGE !== 'local') return 'unanswered';
  const tmp = [...tmpEntries(env)].filter((n) => !before.has(n));
  if (tmp.some((n) => n.startsWith('claimed-'))) return 'in store complete';
  if (tmp.some((n) => n.startsWith('trash-'))) return 'in store cleanup';
  const open = fs.readdirSync(path.join(env.DATA_DIR, 'blobs', '.uploads')).length;
  return open ? 'before store complete' : 'after store complete';
}

function tmpEntries(env: Record<string, string>): Set<string> {
  try {
    return new Set(fs.readdirSync(path.join(env.DATA_DIR, 'blobs', '.tmp')));
  } catch {
    return new Set();
  }
}

const COMPLETE = 'mutation($s: ID!) { completeUpload(sessionId: $s) { id size revision contentHash downloadUrl } }';

describe.each(stores)('kill -9 of the server during completeUpload on the %s store', (name, rounds, sizes, storeEnv) => {
  let work: string;
  let env: Record<string, string>;
  let port: number;
  let server: ServerProcess;

  beforeAll(async () => {
    requireBuild();
    console.log(`complete-kill (${name}): seed ${SEED} (replay with COMPLETE_KILL_SEED=${SEED})`);
    work = fs.mkdtempSync(path.join(os.tmpdir(), `tessera-complete-kill-${name}-`));
    env = { DATA_DIR: path.join(work, 'data'), ...storeEnv() };
    port = await freePort();
    server = await startServerProcess(env, port);
  });
  afterAll(async () => {
    if (server) await killHard(server.child);
    if (env?.S3_PREFIX) await emptyRgwPrefix(env.S3_PREFIX);
    fs.rmSync(work, { recursive: true, force: true });
  });

  /** Uploads a random file and sends completeUpload; `kill` ends the server meanwhile. Then restarts, retries and checks. */
  async function round(token: string, where: string, size: number, kill: () => Promise<void>): Promise<string> {
    const plan = await gql(server.url, 'query($s: BigInt!) { uploadPlan(size: $s) { partSize } }', { s: String(size) }, token);
    const f = prepare(crypto.randomBytes(size), Number(plan.data.uploadPlan.partSize));
    const begun = await gql(server.url, `mutation($i: BeginUploadInput!) { beginUpload(input: $i) { ${SESSION_FIELDS} } }`, { i: beginInput(`/kill/${crypto.randomUUID()}.bin`, f) }, token);
    expect({ where, errors: begun.errors }).toEqual({ where, errors: undefined });
    const session = begun.data.beginUpload;
    const confirmed = [];
    for (const p of session.parts) {
      const res = await putPart(server.url, p, f.parts[p.partNumber - 1].bytes);
      confirmed.push({ partNumber: p.partNumber, etag: res.headers.get('etag')! });
    }
    await gql(server.url, 'mutation($s: ID!, $p: [ConfirmPartInput!]!) { confirmParts(sessionId: $s, parts: $p) { id } }', { s: session.id, p: confirmed }, token);

    const before = tmpEntries(env);
    let answered = false;
    const request = gql(server.url, COMPLETE, { s: session.id }, token).then(() => { answered = true; }, () => undefined);
    await kill();
    await request;
    const landed = answered ? 'answered' : storeState(env, before);
    server = await startServerProcess(env, port);

    // the client retries: completeUpload; re-send what missingParts names; completeUpload
    let done = await gql(server.url, COMPLETE, { s: session.id }, token);
    if (codeOf(done) === 'PRECONDITION_FAILED' && done.errors![0].extensions.missingParts) {
      const missing = done.errors![0].extensions.missingParts as number[];
      const urls = await gql(server.url, 'mutation($s: ID!, $n: [Int!]!) { refreshPartUrls(sessionId: $s, partNumbers: $n) { partNumber url method headers { name value } } }', { s: session.id, n: missing }, token);
      for (const p of urls.data.refreshPartUrls) await putPart(server.url, p, f.parts[p.partNumber - 1].bytes);
      done = await gql(server.url, COMPLETE, { s: session.id }, token);
    }
    const file = done.data?.completeUpload;
    const back = file ? Buffer.from(await (await fetch(new URL(file.downloadUrl, server.url))).arrayBuffer()) : null;
    expect({ where, landed, errors: done.errors, revision: file?.revision, contentHash: file?.contentHash, sha256: back && sha256(back) })
      .toEqual({ where, landed, errors: undefined, revision: 1, contentHash: f.contentHash, sha256: sha256(f.bytes) });
    return landed;
  }

  test(`${rounds} rounds, killed a random 0-60 ms after completeUpload is sent: the retried upload ends with exactly the uploaded bytes`, async () => {
    const random = rng(SEED + name.length);
    const { token } = await signUp(server.url);
    const landed: string[] = [];
    for (let i = 0; i < rounds; i++) {
      const size = sizes.min + Math.floor(random() * (sizes.max - sizes.min));
      const delay = Math.floor(random() * 60);
      landed.push(await round(token, `seed ${SEED}, ${name} round ${i}, kill after ${delay} ms`, size, async () => {
        await new Promise((r) => setTimeout(r, delay));
        await killHard(server.child);
      }));
    }
    console.log(`complete-kill (${name}): seed ${SEED}, where the kills landed: ${landed.join(', ')}`);
  }, 120_000);

  if (name === 'local') {
    test('the server killed at each crash point of the store\'s complete (TESSERA_CRASH_AT): the retry ends with exactly the uploaded bytes', async () => {
      const { token } = await signUp(server.url);
      const reached: string[] = [];
      // steps of the copy path are not taken by a fresh upload written in place
      const points = CRASH_POINTS.filter((p) => p.startsWith('complete.') && !p.startsWith('complete.assembl'));
      for (const point of points) {
        await killHard(server.child);
        const crashing = await startServerProcess({ ...env, TESSERA_CRASH_AT: point }, port);
        server = crashing;
        // the server dies at the point (or, were the point not reached, answers and is killed); restarted unarmed
        const landed = await round(token, `crash point ${point}`, 3 * MiB + 17, async () => {
          const exited = new Promise<void>((resolve) => crashing.child.once('exit', () => resolve()));
          await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
          await killHard(crashing.child);
        });
        if (landed !== 'answered') reached.push(point);
      }
      expect(reached).toEqual(points);
    }, 120_000);
  }
});

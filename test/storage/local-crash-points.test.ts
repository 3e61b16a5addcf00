import { spawnSync } from 'node:child_process';
import { randomBytes, createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { isStorageError } from '../../src/storage/errors';
import { LocalStorageAdapter } from '../../src/storage/local';
import { CRASH_POINTS } from '../../src/storage/local/crash';
import { requireBuild } from '../transfers/processes';

/**
 * Crash-point injection on the local store: a child process (the built store, dist/) runs a
 * workload and is SIGKILLed at one named step (TESSERA_CRASH_AT, every step of
 * src/storage/local/crash.ts in turn, in every workload that reaches it); a fresh adapter on
 * the same directory (the restarted server) then retries as the upload service would. After
 * every crash: any object in place has exactly the expected bytes; the retry (complete;
 * re-send what listParts lacks; complete) ends with the expected object, or the abort is done.
 */
const P = 64 * 1024;
const CHILD = path.join(__dirname, 'crash-child.js');
const WORKLOADS = ['in-place', 'reput', 'copy', 'abort'] as const;
/** Steps after which the object is already in place. */
const PLACED = new Set(['complete.placed', 'complete.trashed', 'complete.removing']);

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (isStorageError(e)) return e.code;
    throw e;
  }
}

/** Crash points reached, over both runs below (some steps exist only with encryption on). */
const hit = new Map<string, string[]>();

describe.each([
  ['plaintext', undefined],
  ['encrypted at rest', randomBytes(32).toString('hex')],
])('local store (%s): kill -9 at every crash point, then restart and retry', (_label, keyHex) => {
  let work: string;
  let bytesFile: string;
  let bytes: Buffer;
  const parts: { partNumber: number; buf: Buffer }[] = [];
  const encryption = keyHex ? { keys: [Buffer.from(keyHex, 'hex')], segmentSize: 4096 } : undefined;

  beforeAll(() => {
    requireBuild();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-crashpoints-'));
    bytes = randomBytes(3 * P + 1234);
    bytesFile = path.join(work, 'bytes');
    fs.writeFileSync(bytesFile, bytes);
    for (let i = 0; i * P < bytes.length; i++) parts.push({ partNumber: i + 1, buf: bytes.subarray(i * P, (i + 1) * P) });
  });
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  const cases = WORKLOADS.flatMap((w) => [...CRASH_POINTS.map((p) => [w, p]), ...(w === 'in-place' ? [[w, 'part.written:3'], [w, 'part.linked:2']] : [])]);

  test.each(cases)('%s workload, TESSERA_CRASH_AT=%s', async (workload, point) => {
    const root = path.join(work, `${workload}-${point.replace(':', '_')}`);
    fs.mkdirSync(root, { recursive: true });
    const store = () => new LocalStorageAdapter({ root, signingSecret: 'crash-test', minPartSize: P, encryption });
    if (workload === 'copy') {
      const s = store();
      const id = await s.createMultipartUpload('crash/source');
      const e = await s.receivePart(id, 1, bytes.length, sha(bytes), Readable.from([bytes]));
      await s.completeMultipartUpload('crash/source', id, [{ partNumber: 1, etag: e.etag }]);
    }
    const stateFile = path.join(root, 'state.json');
    const run = spawnSync(process.execPath, [CHILD, root, workload, bytesFile, stateFile, String(P)], {
      env: { ...process.env, TESSERA_CRASH_AT: point, ...(keyHex ? { TESSERA_TEST_ENCRYPTION_KEY: keyHex } : {}) }, encoding: 'utf8', timeout: 30_000,
    });
    if (run.signal !== 'SIGKILL') {
      expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' }); // not reached: the workload finished
      return;
    }
    hit.set(point.split(':')[0], [...(hit.get(point.split(':')[0]) ?? []), workload]);
    const state = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { key: string; uploadId?: string; phase: string };
    const s = store(); // the restarted process

    // never a wrong object, before any retry
    const before = await s.getStream(state.key).then(readAll, () => null);
    if (before) expect(sha(before)).toBe(sha(bytes));
    if (PLACED.has(point)) expect(before).not.toBeNull();

    if (!state.uploadId) {
      // died inside createMultipartUpload: no id was answered; nothing visible but (once published) an upload for the janitor
      const listed: string[] = [];
      for await (const u of s.listMultipartUploads({ prefix: 'crash/obj' })) listed.push(u.uploadId);
      expect(listed).toHaveLength(point === 'create.published' ? 1 : 0);
      expect(before).toBeNull();
    } else if (state.phase === 'abort') {
      expect(['ok', 'NO_SUCH_UPLOAD']).toContain(await code(s.abortMultipartUpload(state.key, state.uploadId)));
      expect(await code(s.listParts(state.key, state.uploadId))).toBe('NO_SUCH_UPLOAD');
      expect(before).toBeNull();
    } else {
      const all = parts.map((p) => ({ partNumber: p.partNumber, etag: sha(p.buf) }));
      const first = await code(s.completeMultipartUpload(state.key, state.uploadId, all));
      // a crash inside complete leaves an upload that completes, or the completed object: never missing parts
      if (state.phase === 'complete') expect(['ok', 'NO_SUCH_UPLOAD']).toContain(first);
      if (first === 'INVALID_PART') {
        const listed = new Map((await s.listParts(state.key, state.uploadId)).parts.map((p) => [p.partNumber, p.etag]));
        for (const p of parts) {
          if (listed.get(p.partNumber) !== sha(p.buf)) await s.receivePart(state.uploadId, p.partNumber, p.buf.length, sha(p.buf), Readable.from([p.buf]));
        }
        expect(await code(s.completeMultipartUpload(state.key, state.uploadId, all))).toBe('ok');
      } else {
        expect(['ok', 'NO_SUCH_UPLOAD']).toContain(first);
      }
      expect(await s.verifyObject(state.key, parts.map((p) => ({ offset: (p.partNumber - 1) * P, size: p.buf.length, sha256: sha(p.buf) })))).toBe(true);
      expect(sha(await readAll(await s.getStream(state.key)))).toBe(sha(bytes));
      expect(await code(s.listParts(state.key, state.uploadId))).toBe('NO_SUCH_UPLOAD');
    }
    // nothing left behind once the janitor's listing has swept
    for await (const u of s.listMultipartUploads({ prefix: 'crash/' })) if (u.uploadId === state.uploadId) await s.abortMultipartUpload(u.key, u.uploadId);
    const leftovers = fs.readdirSync(path.join(root, '.tmp'));
    expect(leftovers).toEqual([]);
    // encrypted: the object at rest is ciphertext
    const object = path.join(root, 'objects', 'crash', 'obj');
    if (keyHex && fs.existsSync(object)) expect(fs.readFileSync(object).includes(bytes.subarray(0, 64))).toBe(false);
  });
});

test('every crash point was reached by some workload (a new step is covered or this fails)', () => {
  expect([...CRASH_POINTS].filter((p) => !hit.has(p))).toEqual([]);
});

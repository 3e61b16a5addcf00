/**
 * The local store's encryption at rest beyond the conformance suite: tampering with the
 * stored bytes is a coded error (CORRUPT), never wrong bytes; keys that do not fit are
 * KEY_UNAVAILABLE; plaintext objects are refused unless allowed; key rotation re-wraps data
 * keys so old objects and open uploads stay readable with the new key alone.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../clients/cli/main';
import { loadConfig } from '../../src/server/config';
import { isStorageError } from '../../src/storage/errors';
import { LocalStorageAdapter, type LocalOptions } from '../../src/storage/local';
import { masterKeyId, segmentOffset, SEGMENT_OVERHEAD } from '../../src/storage/local/envelope';
import { rotateKeys } from '../../src/storage/local/rotation';
import { KeyRing } from '../../src/storage/local/envelope';
import { cliIo } from '../helpers/cli';
import { startLocal } from './local-fixture';

const S = 4096;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const K1 = randomBytes(32);
const K2 = randomBytes(32);

async function readAll(s: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return isStorageError(e) ? e.code : `non-StorageError: ${String(e)}`;
  }
}

describe('local store: encryption at rest', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'tessera-enc-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  const store = (encryption?: LocalOptions['encryption']) => new LocalStorageAdapter({ root, signingSecret: 's', minPartSize: 4 * S, encryption });
  /** An object from parts (written in place when `partSize` is given). */
  const putObject = async (a: LocalStorageAdapter, key: string, parts: Buffer[], partSize?: number) => {
    const uploadId = await a.createMultipartUpload(key, { partSize });
    const etags = [];
    for (const [i, p] of parts.entries()) etags.push((await a.receivePart(uploadId, i + 1, p.length, sha(p), Readable.from([p]))).etag);
    await a.completeMultipartUpload(key, uploadId, etags.map((etag, i) => ({ partNumber: i + 1, etag })));
    return Buffer.concat(parts);
  };
  const file = (key: string) => path.join(root, 'objects', ...key.split('/'));
  const patch = (key: string, at: number, bytes: Buffer) => {
    const fd = fs.openSync(file(key), 'r+');
    fs.writeSync(fd, bytes, 0, bytes.length, at);
    fs.closeSync(fd);
  };

  it('a flipped bit, swapped or dropped segments, a damaged key slot or a stripped header: CORRUPT, never other bytes', async () => {
    const a = store({ keys: [K1], segmentSize: S });
    const bytes = await putObject(a, 'x', [randomBytes(9 * S + 3136)]);
    expect((await readAll(await a.getStream('x'))).equals(bytes)).toBe(true);
    const original = fs.readFileSync(file('x'));
    const restore = () => fs.writeFileSync(file('x'), original);

    // a bit in segment 5: ranges before it still read, any range touching it fails
    patch('x', segmentOffset(5, S) + 100, Buffer.from([original[segmentOffset(5, S) + 100] ^ 1]));
    expect((await readAll(await a.getStream('x', { offset: 0, length: 5 * S }))).equals(bytes.subarray(0, 5 * S))).toBe(true);
    expect(await codeOf(a.getStream('x', { offset: 5 * S + 10, length: 10 }))).toBe('CORRUPT');
    expect(await codeOf(a.getStream('x').then(readAll))).toBe('CORRUPT');
    expect(await a.verifyObject('x', [{ offset: 0, size: bytes.length, sha256: sha(bytes) }])).toBe(false);
    restore();

    // segments 1 and 2 swapped
    const seg = (i: number) => original.subarray(segmentOffset(i, S), segmentOffset(i + 1, S));
    patch('x', segmentOffset(1, S), Buffer.concat([seg(2), seg(1)]));
    expect(await codeOf(a.getStream('x', { offset: S, length: 1 }))).toBe('CORRUPT');
    restore();

    // the last segment cut off (the file is still a valid length): the sealed size catches it
    fs.truncateSync(file('x'), segmentOffset(9, S));
    expect(await codeOf(a.head('x'))).toBe('CORRUPT');
    expect(await codeOf(a.getStream('x', { offset: 0, length: 1 }))).toBe('CORRUPT');
    restore();
    // a torn last segment
    fs.truncateSync(file('x'), segmentOffset(9, S) + SEGMENT_OVERHEAD - 3);
    expect(await codeOf(a.head('x'))).toBe('CORRUPT');
    restore();

    // the wrapped data key altered; the header's segment size altered (bound into the wrap)
    patch('x', 32 + 25, Buffer.from([original[32 + 25] ^ 0x80]));
    expect(await codeOf(a.head('x'))).toBe('CORRUPT');
    restore();
    patch('x', 12, Buffer.from([0, 0, 0x20, 0]));
    expect(await codeOf(a.head('x'))).toBe('CORRUPT');
    restore();

    // the magic stripped: not served as plaintext
    patch('x', 0, Buffer.from('XXXXXXXX'));
    expect(await codeOf(a.head('x'))).toBe('CORRUPT');
    restore();
    expect((await readAll(await a.getStream('x'))).equals(bytes)).toBe(true);
  });

  it('the blob route answers a tampered object with a coded error, not bytes', async () => {
    const fx = await startLocal({ root, encryption: { keys: [K1], segmentSize: S } });
    try {
      await putObject(fx.inner, 'y', [randomBytes(3 * S)]);
      patch('y', segmentOffset(0, S) + 50, Buffer.from([0]));
      const req = await fx.adapter.presignGet('y', { expiresIn: 60 });
      const res = await fetch(new URL(req.url, fx.baseUrl));
      expect(res.status).toBe(500);
      expect(((await res.json()) as { code: string }).code).toBe('CORRUPT');
    } finally {
      await fx.cleanup();
    }
  });

  it('encryption turned off (keys kept for reading): new objects plaintext, encrypted ones and uploads still read and complete', async () => {
    const on = store({ keys: [K1], segmentSize: S });
    const old = await putObject(on, 'enc', [randomBytes(3 * S + 5)]);
    const uploadId = await on.createMultipartUpload('half', { partSize: 4 * S });
    const p1 = randomBytes(4 * S);
    const { etag } = await on.receivePart(uploadId, 1, p1.length, sha(p1), Readable.from([p1]));

    const off = store({ keys: [K1], write: false });
    expect((await readAll(await off.getStream('enc'))).equals(old)).toBe(true);
    const fresh = await putObject(off, 'plain', [randomBytes(2000)]);
    expect(fs.readFileSync(file('plain')).equals(fresh)).toBe(true);
    expect((await off.head('plain')).encryption).toBeUndefined();
    await off.completeMultipartUpload('half', uploadId, [{ partNumber: 1, etag }]);
    expect(fs.readFileSync(file('half')).equals(p1)).toBe(true); // the encrypted upload completed in plaintext
    expect(await off.verifyObject('half', [{ offset: 0, size: p1.length, sha256: sha(p1) }])).toBe(true);
  });

  it('another master key, or none: KEY_UNAVAILABLE', async () => {
    await putObject(store({ keys: [K1], segmentSize: S }), 'z', [randomBytes(100)]);
    expect(await codeOf(store({ keys: [K2] }).head('z'))).toBe('KEY_UNAVAILABLE');
    expect(await codeOf(store().getStream('z'))).toBe('KEY_UNAVAILABLE');
  });

  it('plaintext objects from before: refused by default, served with allowPlaintext, encrypted by --encrypt-plaintext; an upload begun in plaintext completes encrypted', async () => {
    const plain = store();
    const bytes = await putObject(plain, 'old', [randomBytes(5000)]);
    const uploadId = await plain.createMultipartUpload('later', { partSize: 4 * S });
    const part = randomBytes(6000);
    const { etag } = await plain.receivePart(uploadId, 1, part.length, sha(part), Readable.from([part]));

    expect(await codeOf(store({ keys: [K1] }).head('old'))).toBe('CORRUPT');
    const lenient = store({ keys: [K1], allowPlaintext: true });
    expect((await readAll(await lenient.getStream('old'))).equals(bytes)).toBe(true);
    expect((await lenient.head('old')).encryption).toBeUndefined();

    const strict = store({ keys: [K1], segmentSize: S });
    await strict.completeMultipartUpload('later', uploadId, [{ partNumber: 1, etag }]);
    expect((await strict.head('later')).encryption).toEqual({ algorithm: 'AES-256-GCM', keyId: masterKeyId(K1).toString('hex') });
    expect((await readAll(await strict.getStream('later'))).equals(part)).toBe(true);
    expect(fs.readFileSync(file('later')).includes(part.subarray(0, 64))).toBe(false);

    // the upgrade: `keys rotate --encrypt-plaintext` encrypts the old object in place; then the strict store serves it
    const report = await rotateKeys(root, new KeyRing([K1]), { encryptPlaintext: true });
    expect(report).toMatchObject({ encryptedNow: 1, plaintextObjects: 0, failed: [] });
    expect(fs.readFileSync(file('old')).includes(bytes.subarray(0, 64))).toBe(false);
    expect((await readAll(await strict.getStream('old'))).equals(bytes)).toBe(true);
    expect(fs.readdirSync(path.join(root, '.tmp')).filter((n) => n.includes('encrypt'))).toEqual([]);
  });

  it('rotation re-wraps every data key (objects, open uploads) without re-encrypting; the new key alone then reads everything', async () => {
    const old = store({ keys: [K1], segmentSize: S });
    const objects = new Map<string, Buffer>();
    objects.set('copied', await putObject(old, 'copied', [randomBytes(5 * S), randomBytes(777)]));
    objects.set('in-place', await putObject(old, 'in-place', [randomBytes(4 * S), randomBytes(999)], 4 * S));
    const open = await old.createMultipartUpload('open', { partSize: 4 * S });
    const p1 = randomBytes(4 * S);
    const p2 = randomBytes(123);
    const e1 = (await old.receivePart(open, 1, p1.length, sha(p1), Readable.from([p1]))).etag;
    const e2 = (await old.receivePart(open, 2, p2.length, sha(p2), Readable.from([p2]))).etag;
    const e1again = (await old.receivePart(open, 1, p1.length, sha(p1), Readable.from([p1]))).etag; // a part of its own
    expect(e1again).toBe(e1);
    const before = fs.readFileSync(file('copied'));

    const report = await rotateKeys(root, new KeyRing([K2, K1]));
    expect(report.failed).toEqual([]);
    expect(report.rewrapped).toBe(report.encrypted);
    expect(report.encrypted).toBeGreaterThanOrEqual(4); // 2 objects, the data file, the part of its own
    expect(report.byKey).toEqual({ [masterKeyId(K2).toString('hex')]: report.encrypted });
    // only the header's free key slot changed: the segments are the same bytes
    const after = fs.readFileSync(file('copied'));
    expect(after.subarray(256).equals(before.subarray(256))).toBe(true);
    expect(after.subarray(0, 256).equals(before.subarray(0, 256))).toBe(false);
    expect((await rotateKeys(root, new KeyRing([K2, K1]))).rewrapped).toBe(0);

    const rotated = store({ keys: [K2], segmentSize: S });
    for (const [key, bytes] of objects) {
      expect((await readAll(await rotated.getStream(key))).equals(bytes)).toBe(true);
      expect((await rotated.head(key)).encryption?.keyId).toBe(masterKeyId(K2).toString('hex'));
    }
    await rotated.completeMultipartUpload('open', open, [{ partNumber: 1, etag: e1 }, { partNumber: 2, etag: e2 }]);
    expect((await readAll(await rotated.getStream('open'))).equals(Buffer.concat([p1, p2]))).toBe(true);

    // until retired, the old key still opens everything (a server not yet restarted keeps working)
    expect((await readAll(await store({ keys: [K1] }).getStream('copied'))).equals(objects.get('copied')!)).toBe(true);
    const retired = await rotateKeys(root, new KeyRing([K2, K1]), { retire: true });
    // the two objects from before ('open' was completed since by the K2-only store, copying into a new envelope)
    expect(retired.erased).toBe(2);
    expect(retired.byKey).toEqual({ [masterKeyId(K2).toString('hex')]: retired.encrypted });
    for (const key of ['copied', 'in-place', 'open']) {
      expect(await codeOf(store({ keys: [K1] }).head(key))).toBe('KEY_UNAVAILABLE');
      expect((await store({ keys: [K2] }).head(key)).encryption?.keyId).toBe(masterKeyId(K2).toString('hex'));
    }
    expect((await readAll(await store({ keys: [K2] }).getStream('copied'))).equals(objects.get('copied')!)).toBe(true);
  });

  it('a torn write of the free key slot (a crash mid-rotation) leaves the file readable with the old key', async () => {
    const a = store({ keys: [K1], segmentSize: S });
    const bytes = await putObject(a, 'w', [randomBytes(1000)]);
    patch('w', 100, randomBytes(40)); // slot B, partly written
    expect((await readAll(await a.getStream('w'))).equals(bytes)).toBe(true);
    const report = await rotateKeys(root, new KeyRing([K2, K1]));
    expect(report.rewrapped).toBe(1);
    expect((await readAll(await store({ keys: [K2] }).getStream('w'))).equals(bytes)).toBe(true);
  });

  it('`tessera keys rotate --generate`, then `--retire`: a generated key file is rotated and the old key dropped', async () => {
    const env = { DATA_DIR: root };
    const fromConfig = () => {
      const c = loadConfig(env);
      if (c.storage.kind !== 'local') throw new Error('local expected');
      return new LocalStorageAdapter(c.storage.local);
    };
    const bytes = await putObject(fromConfig(), 'cli', [randomBytes(2000)]);
    const keyFile = path.join(root, 'encryption-keys');
    const first = fs.readFileSync(keyFile, 'utf8').trim();

    const io = cliIo(env, root);
    expect(await main(['keys', 'rotate', '--generate', '--json'], io)).toBe(0);
    const keys = fs.readFileSync(keyFile, 'utf8').trim().split('\n');
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(first);
    expect(JSON.parse(io.out())).toMatchObject({ rewrapped: 1, failed: [], retired: false });

    const io2 = cliIo(env, root);
    expect(await main(['keys', 'rotate', '--retire'], io2)).toBe(0);
    expect(io2.out()).toContain('old keys removed');
    expect(fs.readFileSync(keyFile, 'utf8').trim()).toBe(keys[0]);
    expect((await readAll(await fromConfig().getStream('cli'))).equals(bytes)).toBe(true);
    const oldKeyOnly = new LocalStorageAdapter({ root: path.join(root, 'blobs'), signingSecret: 's', encryption: { keys: [Buffer.from(first, 'hex')] } });
    expect(await codeOf(oldKeyOnly.head('cli'))).toBe('KEY_UNAVAILABLE'); // the old key opens nothing
  });
});

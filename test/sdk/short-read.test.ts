import { truncateSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFileParts, MIB, WORKER_THRESHOLD_PARTS } from '../../clients/sdk/hashing';

/** A file that shrinks while it is hashed is a typed CHANGED (issue 13: it was a bare "short read" Error). */
describe('hashing a file that shrinks meanwhile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-short-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // 16 MiB + 5 bytes: 2 parts of 16 MiB are hashed on this thread (1 MiB reads, a progress call after each, so the
  // cut comes before the second read); 17 parts of 1 MiB go to the hash workers
  it.each([['on this thread', 16 * MIB], ['on hash workers', MIB]])('rejects with TesseraError CHANGED (%s)', async (label, partSize) => {
    const size = 16 * MIB + 5;
    expect(Math.ceil(size / partSize) >= WORKER_THRESHOLD_PARTS).toBe(label === 'on hash workers');
    const file = join(dir, `f-${partSize}`);
    await writeFile(file, Buffer.alloc(size, 7));
    let cut = false;
    const p = hashFileParts(file, partSize, {
      onProgress: () => {
        if (!cut) {
          cut = true;
          truncateSync(file, 10);
        }
      },
    });
    // with workers, the first progress comes after a whole part: the file is cut before the later parts are read
    await expect(p).rejects.toMatchObject({ name: 'TesseraError', code: 'CHANGED' });
  });
});

import { truncateSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashFileParts, MIB, planParts } from '../../clients/sdk/hashing';
import { hashSpansInWorkers } from '../../clients/sdk/hash-workers';

/** A file that shrinks while it is hashed is a typed CHANGED (issue 13: it was a bare "short read" Error). */
describe('hashing a file that shrinks meanwhile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-short-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  // 16 MiB + 5 bytes as 2 parts of 16 MiB, hashed on this thread with 1 MiB reads and a progress call after each:
  // the cut in the first progress call comes before the second read, whatever the machine's load
  it('rejects with TesseraError CHANGED (on this thread)', async () => {
    const file = join(dir, 'thread');
    await writeFile(file, Buffer.alloc(16 * MIB + 5, 7));
    let cut = false;
    const p = hashFileParts(file, 16 * MIB, {
      onProgress: () => {
        if (!cut) {
          cut = true;
          truncateSync(file, 10);
        }
      },
    });
    await expect(p).rejects.toMatchObject({ name: 'TesseraError', code: 'CHANGED' });
  });

  // The workers are handed spans planned from the size at stat time. Cutting the file at a moment tied to time raced
  // with the workers (they could read every part before the first progress reached this thread), so the file is
  // already shorter than its spans here: the same state, reached without a race.
  it.each([['to 10 bytes', 10], ['in the middle of part 9', 8 * MIB + 12345]])(
    'rejects with TesseraError CHANGED on hash workers (file cut %s)', async (_label, cutTo) => {
      const file = join(dir, `workers-${cutTo}`);
      await writeFile(file, Buffer.alloc(cutTo, 7));
      const spans = planParts(16 * MIB + 5, MIB);
      await expect(hashSpansInWorkers(file, spans, { threads: 2 })).rejects.toMatchObject({ name: 'TesseraError', code: 'CHANGED' });
    });

  it('the same spans over the whole file hash without error on workers (the check above is not vacuous)', async () => {
    const file = join(dir, 'whole');
    await writeFile(file, Buffer.alloc(16 * MIB + 5, 7));
    const parts = await hashSpansInWorkers(file, planParts(16 * MIB + 5, MIB), { threads: 2 });
    expect(parts).toHaveLength(17);
    expect(parts[16].size).toBe(5);
  });
});

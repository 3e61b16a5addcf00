import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SidecarFile } from '../../clients/sdk/partial';

/** The download sidecar: coalesced saves never lose a verified part, and each save's promise means "on disk". */
describe('SidecarFile', () => {
  let dir: string;
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'tessera-sidecar-')); });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('keeps every part of a burst of saves, and a save resolves only once its state is written', async () => {
    const path = join(dir, 'f.tessera-partial.json');
    const sidecar = new SidecarFile(path, { contentHash: 'h', size: 10, verified: [] });
    const verified = new Map<number, string>();
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 300; i++) {
      verified.set(i, 'x');
      saves.push(sidecar.save(verified));
      if (i === 150) {
        await saves[i];
        expect((await sidecar.load())!.verified.length).toBeGreaterThanOrEqual(151);
      }
    }
    await Promise.all(saves);
    expect((await sidecar.load())!.verified).toEqual([...Array(300).keys()]);
    expect((await readdir(dir)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    await sidecar.remove();
    expect(await sidecar.load()).toBeNull();
  });
});

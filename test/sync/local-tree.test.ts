import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalEntry, SyncedEntry, Tree } from '../../clients/sync/entries';
import { rescanLocal, scanLocal, toRel } from '../../clients/sync/local-tree';

const hash = async (abs: string) => createHash('sha256').update(await readFile(abs)).digest('hex');
const noSynced: Tree<SyncedEntry> = new Map();
const sorted = (t: Tree<LocalEntry>) => [...t].sort(([a], [b]) => a.localeCompare(b));

/** The incremental scan against real files: after each change, rescanning the changed paths equals a full scan. */
describe('rescanLocal (incremental local scan)', () => {
  let root: string;
  let previous: Tree<LocalEntry>;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'tessera-scan-'));
    await mkdir(join(root, 'a/b'), { recursive: true });
    await mkdir(join(root, 'c'));
    await writeFile(join(root, 'a/one.txt'), '1');
    await writeFile(join(root, 'a/b/two.txt'), '2');
    await writeFile(join(root, 'c/three.txt'), '3');
    await writeFile(join(root, 'top.txt'), 'top');
    previous = (await scanLocal(root, noSynced, hash)).tree;
    expect(previous.size).toBe(7);
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function expectSameAsFull(dirty: string[]) {
    const inc = await rescanLocal(root, previous, dirty, noSynced, hash);
    const full = await scanLocal(root, noSynced, hash);
    expect(sorted(inc.tree)).toEqual(sorted(full.tree));
    expect(inc.problems).toEqual([]);
    return inc.tree;
  }

  it('a changed file', async () => {
    await writeFile(join(root, 'a/b/two.txt'), 'two, edited');
    const tree = await expectSameAsFull(['/a/b/two.txt']);
    expect(tree.get('/a/b/two.txt')?.contentHash).toBe(createHash('sha256').update('two, edited').digest('hex'));
  });

  it('a new folder with contents (only the folder reported)', async () => {
    await mkdir(join(root, 'new/deep'), { recursive: true });
    await writeFile(join(root, 'new/deep/x.txt'), 'x');
    await writeFile(join(root, 'new/y.txt'), 'y');
    const tree = await expectSameAsFull(['/new']);
    expect(tree.has('/new/deep/x.txt')).toBe(true);
  });

  it('a file in a new folder (only the file reported: widened to the folder)', async () => {
    await mkdir(join(root, 'n1/n2'), { recursive: true });
    await writeFile(join(root, 'n1/n2/z.txt'), 'z');
    await writeFile(join(root, 'n1/sibling.txt'), 's');
    await expectSameAsFull(['/n1/n2/z.txt']);
  });

  it('a deleted folder takes its subtree out', async () => {
    await rm(join(root, 'a'), { recursive: true });
    const tree = await expectSameAsFull(['/a']);
    expect([...tree.keys()].filter((p) => p.startsWith('/a'))).toEqual([]);
  });

  it('a renamed folder and a renamed file', async () => {
    await rename(join(root, 'a'), join(root, 'renamed'));
    await rename(join(root, 'top.txt'), join(root, 'c/top-moved.txt'));
    const tree = await expectSameAsFull(['/a', '/renamed', '/top.txt', '/c/top-moved.txt']);
    expect(tree.has('/renamed/b/two.txt')).toBe(true);
  });

  it('nothing dirty: the previous tree as it is', async () => {
    expect((await rescanLocal(root, previous, [], noSynced, hash)).tree).toBe(previous);
  });

  it('ignored paths stay out; an unreadable dirty folder keeps its synced entries (not a deletion)', async () => {
    await writeFile(join(root, 'c/.DS_Store'), 'junk');
    const ignores = (rel: string) => rel.endsWith('.DS_Store');
    const inc = await rescanLocal(root, previous, ['/c/.DS_Store'], noSynced, hash, { ignores });
    expect(inc.tree.has('/c/.DS_Store')).toBe(false);

    const synced: Tree<SyncedEntry> = new Map([['/c', { kind: 'folder', size: 0, mtimeMs: 1, contentHash: null, fileId: 'f1', revision: 1 }],
      ['/c/three.txt', { kind: 'file', size: 1, mtimeMs: 2, contentHash: 'h', fileId: 'f2', revision: 1 }]]);
    const eacces = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    const fs = {
      lstat,
      readdir: async (p: string, o: { withFileTypes: true }) => { if (p === join(root, 'c')) throw eacces; return readdir(p, o); },
    };
    const locked = await rescanLocal(root, previous, ['/c'], synced, hash, { fs });
    expect(locked.problems.map((p) => p.rel)).toEqual(['/c']);
    expect(locked.tree.get('/c/three.txt')?.contentHash).toBe('h');
  });

  it('toRel normalises watcher names', () => {
    expect(toRel('a/b.txt')).toBe('/a/b.txt');
    expect(toRel('a\\b.txt')).toBe('/a/b.txt');
    expect(toRel('')).toBeNull();
    expect(toRel('.')).toBeNull();
  });
});

describe('scanLocal and names that are not UTF-8', () => {
  it('reports such a file as a problem instead of skipping it silently', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tessera-scan-bytes-'));
    try {
      await writeFile(Buffer.from(join(root, 'ok.txt')), 'fine');
      await writeFile(Buffer.concat([Buffer.from(root + '/bad'), Buffer.from([0xff]), Buffer.from('name.txt')]), 'bytes');
      const { tree, problems } = await scanLocal(root, noSynced, hash);
      expect([...tree.keys()]).toEqual(['/ok.txt']);
      expect(problems).toHaveLength(1);
      expect(problems[0].rel).toBe('/bad\uFFFDname.txt');
      expect(String(problems[0].error)).toMatch(/not valid UTF-8/);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

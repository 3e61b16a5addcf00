import type { LocalEntry, RemoteEntry, SyncedEntry } from '../../clients/sync/entries';
import { conflictedCopyPath } from '../../clients/sync/paths';
import { planSync, type Action } from '../../clients/sync/planner';

/** The planner alone: (local, remote, synced) -> actions, no server. */
const NOW = new Date('2024-05-06T12:00:00Z');
const opts = { deviceName: 'desk', now: NOW };
const H = (c: string) => c.repeat(64).slice(0, 64);

const lf = (h: string, mtimeMs = 1): LocalEntry => ({ kind: 'file', size: 1, mtimeMs, contentHash: H(h) });
const ld = (): LocalEntry => ({ kind: 'folder', size: 0, mtimeMs: 1, contentHash: null });
const rf = (h: string, revision = 1, fileId = `id-${h}`): RemoteEntry => ({ kind: 'file', size: 1, contentHash: H(h), fileId, revision });
const rd = (fileId = 'dir'): RemoteEntry => ({ kind: 'folder', size: 0, contentHash: null, fileId, revision: 1 });
const sf = (h: string, revision = 1, fileId = `id-${h}`): SyncedEntry => ({ kind: 'file', size: 1, mtimeMs: 1, contentHash: H(h), fileId, revision });
const sd = (fileId = 'dir'): SyncedEntry => ({ kind: 'folder', size: 0, mtimeMs: 1, contentHash: null, fileId, revision: 1 });

function plan(l: Record<string, LocalEntry>, r: Record<string, RemoteEntry>, s: Record<string, SyncedEntry>): string[] {
  return planSync(new Map(Object.entries(l)), new Map(Object.entries(r)), new Map(Object.entries(s)), opts).map(brief);
}

function brief(a: Action): string {
  switch (a.type) {
    case 'moveLocal': case 'moveRemote': return `${a.type} ${a.from} -> ${a.path}`;
    case 'conflict': return `conflict ${a.path} -> ${a.copyPath}`;
    case 'upload': return `upload ${a.path} base ${a.baseRevision}`;
    case 'record': return `record ${a.path}${a.local ? '' : ' (forget)'}`;
    default: return `${a.type} ${a.path}`;
  }
}

describe('planSync', () => {
  it('unchanged on both sides: nothing', () => {
    expect(plan({ '/a': lf('a'), '/d': ld() }, { '/a': rf('a'), '/d': rd() }, { '/a': sf('a'), '/d': sd() })).toEqual([]);
  });

  it('changed on one side: propagates (upload with the synced revision as base, download, mkdir, deletes)', () => {
    expect(plan({ '/a': lf('b') }, { '/a': rf('a', 3) }, { '/a': sf('a', 3) })).toEqual(['upload /a base 3']);
    expect(plan({ '/new': lf('n') }, {}, {})).toEqual(['upload /new base 0']);
    expect(plan({ '/a': lf('a') }, { '/a': rf('b', 2, 'id-a') }, { '/a': sf('a') })).toEqual(['download /a']);
    expect(plan({}, { '/d': rd() }, {})).toEqual(['mkdirLocal /d']);
    expect(plan({ '/d': ld() }, {}, {})).toEqual(['mkdirRemote /d']);
    expect(plan({}, { '/a': rf('a') }, { '/a': sf('a') })).toEqual(['deleteRemote /a']);
    expect(plan({ '/a': lf('a') }, {}, { '/a': sf('a') })).toEqual(['deleteLocal /a']);
  });

  it('changed on both sides to the same content: only recorded; both deleted: forgotten', () => {
    expect(plan({ '/a': lf('b', 7) }, { '/a': rf('b', 2, 'id-a') }, { '/a': sf('a') })).toEqual(['record /a']);
    expect(plan({ '/n': lf('n') }, { '/n': rf('n') }, {})).toEqual(['record /n']);
    expect(plan({}, {}, { '/a': sf('a') })).toEqual(['record /a (forget)']);
  });

  it('changed on both sides differently: the local version becomes a conflicted copy', () => {
    expect(plan({ '/dir/notes.txt': lf('l') }, { '/dir/notes.txt': rf('r', 2, 'x') }, { '/dir/notes.txt': sf('a', 1, 'x') }))
      .toEqual(['conflict /dir/notes.txt -> /dir/notes (conflicted copy desk 2024-05-06).txt']);
    expect(plan({ '/n': lf('l') }, { '/n': rf('r') }, {})).toEqual(['conflict /n -> /n (conflicted copy desk 2024-05-06)']);
  });

  it('edit vs delete: the edit wins, on either side', () => {
    expect(plan({ '/a': lf('edited') }, {}, { '/a': sf('a') })).toEqual(['upload /a base 0']);
    expect(plan({}, { '/a': rf('edited', 2, 'id-a') }, { '/a': sf('a') })).toEqual(['download /a']);
  });

  it('a remote folder deletion keeps the local folder when something in it changed locally (it is re-created remotely)', () => {
    const synced = { '/d': sd(), '/d/x': sf('x'), '/d/y': sf('y') };
    expect(plan({ '/d': ld(), '/d/x': lf('x'), '/d/y': lf('y') }, {}, synced)).toEqual(['deleteLocal /d/x', 'deleteLocal /d/y', 'deleteLocal /d']);
    expect(plan({ '/d': ld(), '/d/x': lf('x'), '/d/y': lf('y2') }, {}, synced)).toEqual(['mkdirRemote /d', 'upload /d/y base 0', 'deleteLocal /d/x']);
  });

  it('deleting a local folder deletes remotely only what was synced', () => {
    const synced = { '/d': sd(), '/d/x': sf('x'), '/d/e': sd('e') };
    const remote = { '/d': rd(), '/d/x': rf('x'), '/d/e': rd('e') };
    expect(plan({}, remote, synced)).toEqual(['deleteRemote /d']);
    expect(plan({}, { ...remote, '/d/new': rf('n') }, synced)).toEqual(['mkdirLocal /d', 'download /d/new', 'deleteRemote /d/x', 'deleteRemote /d/e']);
  });

  it('a download whose content is in a file being deleted locally becomes a rename; likewise remotely', () => {
    expect(plan({ '/old': lf('c') }, { '/new': rf('c', 1, 'id-c') }, { '/old': sf('c', 1, 'id-c') })).toEqual(['moveLocal /old -> /new']);
    expect(plan({ '/new': lf('c') }, { '/old': rf('c') }, { '/old': sf('c') })).toEqual(['moveRemote /old -> /new']);
  });

  describe('folder moves', () => {
    const files = (dir: string, n: number, mk: (h: string) => any) =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`${dir}/f${i}`, mk(`c${i}`)]));
    const syncedOld = { '/old': sd('X'), '/old/sub': sd('Y'), '/old/sub/z': sf('z'), ...files('/old', 5, sf) };
    const remoteOld = { '/old': rd('X'), '/old/sub': rd('Y'), '/old/sub/z': rf('z'), ...files('/old', 5, rf) };

    it('a local folder rename is one moveRemote of the folder', () => {
      const local = { '/new': ld(), '/new/sub': ld(), '/new/sub/z': lf('z'), ...files('/new', 5, lf) };
      expect(plan(local, remoteOld, syncedOld)).toEqual(['moveRemote /old -> /new']);
    });

    it('a local folder rename with an edit, an addition and a deletion inside: the move, then those', () => {
      const local = { '/new': ld(), '/new/sub': ld(), '/new/sub/z': lf('z2'), '/new/added': lf('a'), ...files('/new', 4, lf) };
      expect(plan(local, remoteOld, syncedOld)).toEqual(['moveRemote /old -> /new', 'upload /new/sub/z base 1', 'upload /new/added base 0', 'deleteRemote /new/f4']);
    });

    it('a remote file added to the folder before the move reaches the new local path', () => {
      const local = { '/new': ld(), '/new/sub': ld(), '/new/sub/z': lf('z'), ...files('/new', 5, lf) };
      expect(plan(local, { ...remoteOld, '/old/late': rf('late') }, syncedOld)).toEqual(['moveRemote /old -> /new', 'download /new/late']);
    });

    it('a new folder that matches half or less is not a move (per-file moves, a new folder, a deletion)', () => {
      const local = { '/new': ld(), '/new/f0': lf('c0'), '/new/f1': lf('c1'), '/new/f2': lf('c2'), '/new/o1': lf('o1'), '/new/o2': lf('o2'), '/new/o3': lf('o3') };
      const out = plan(local, remoteOld, syncedOld);
      expect(out.filter((a) => a.startsWith('moveRemote /old ->'))).toEqual([]);
      expect(out).toContain('mkdirRemote /new');
      expect(out).toContain('moveRemote /old/f0 -> /new/f0');
      expect(out).toContain('deleteRemote /old');
    });

    it('empty folders are not matched by content, but a case-only rename is a move whatever it holds', () => {
      expect(plan({ '/b': ld() }, { '/a': rd('A') }, { '/a': sd('A') })).toEqual(['mkdirRemote /b', 'deleteRemote /a']);
      expect(plan({ '/docs': ld() }, { '/Docs': rd('D') }, { '/Docs': sd('D') })).toEqual(['moveRemote /Docs -> /docs']);
      expect(plan({ '/Docs': ld(), '/Docs/x': lf('x') }, { '/docs': rd('D'), '/docs/x': rf('x') }, { '/docs': sd('D'), '/docs/x': sf('x') }))
        .toEqual(['moveRemote /docs -> /Docs']);
    });

    it('case-only file renames are moves both ways', () => {
      expect(plan({ '/A.txt': lf('a') }, { '/a.txt': rf('a') }, { '/a.txt': sf('a') })).toEqual(['moveRemote /a.txt -> /A.txt']);
      expect(plan({ '/a.txt': lf('a') }, { '/A.txt': rf('a') }, { '/a.txt': sf('a') })).toEqual(['moveLocal /a.txt -> /A.txt']);
    });

    it('two copies of a deleted folder: only one is the move, the other is uploaded', () => {
      const local = { '/n1': ld(), '/n1/x': lf('x'), '/n2': ld(), '/n2/x': lf('x') };
      expect(plan(local, { '/o': rd('O'), '/o/x': rf('x') }, { '/o': sd('O'), '/o/x': sf('x') })).toEqual(['moveRemote /o -> /n1', 'mkdirRemote /n2', 'upload /n2/x base 0']);
    });

    it('a remote folder move (same folder id elsewhere) is one local rename, also of a nested move', () => {
      const remote = { '/new': rd('X'), '/new/sub': rd('Y'), '/new/sub/z': rf('z'), ...files('/new', 5, rf) };
      const local = { '/old': ld(), '/old/sub': ld(), '/old/sub/z': lf('z'), ...files('/old', 5, lf) };
      expect(plan(local, remote, syncedOld)).toEqual(['moveLocal /old -> /new']);
      const nested = { '/new': rd('X'), '/new/inner': rd('Y'), '/new/inner/z': rf('z'), ...files('/new', 5, rf) };
      expect(plan(local, nested, syncedOld)).toEqual(['moveLocal /old -> /new', 'moveLocal /new/sub -> /new/inner']);
    });

    it('a remote folder move with local changes inside: they move along and are still uploaded; remote edits downloaded', () => {
      const remote = { '/new': rd('X'), '/new/sub': rd('Y'), '/new/sub/z': rf('z'), ...files('/new', 5, rf), '/new/f0': rf('r0', 2, 'id-c0') };
      const local = { '/old': ld(), '/old/sub': ld(), '/old/sub/z': lf('z-edited'), '/old/mine': lf('m'), ...files('/old', 5, lf) };
      expect(plan(local, remote, syncedOld)).toEqual(['moveLocal /old -> /new', 'upload /new/sub/z base 1', 'upload /new/mine base 0', 'download /new/f0']);
    });

    it('a remote folder move onto a path taken locally is not a folder rename', () => {
      const remote = { '/new': rd('X'), '/new/sub': rd('Y'), '/new/sub/z': rf('z'), ...files('/new', 5, rf) };
      const local = { '/new': ld(), '/new/mine': lf('m'), '/old': ld(), '/old/sub': ld(), '/old/sub/z': lf('z'), ...files('/old', 5, lf) };
      expect(plan(local, remote, syncedOld).filter((a) => a === 'moveLocal /old -> /new')).toEqual([]);
    });
  });

  it('orders: mkdirs parents first, transfers, then deletions with folders deepest first', () => {
    const out = plan({ '/p': ld(), '/p/q': ld(), '/p/q/f': lf('f'), '/gone': ld(), '/gone/in': ld(), '/gone/in/z': lf('z') }, {},
      { '/gone': sd('g'), '/gone/in': sd('i'), '/gone/in/z': sf('z') });
    expect(out).toEqual(['mkdirRemote /p', 'mkdirRemote /p/q', 'upload /p/q/f base 0', 'deleteLocal /gone/in/z', 'deleteLocal /gone/in', 'deleteLocal /gone']);
  });

  it('names conflicted copies uniquely', () => {
    const taken = new Set(['/a (conflicted copy desk 2024-05-06).txt']);
    expect(conflictedCopyPath('/a.txt', 'desk', NOW, (p) => taken.has(p))).toBe('/a (conflicted copy desk 2024-05-06 2).txt');
    expect(conflictedCopyPath('/.bashrc', 'my/pc', NOW, () => false)).toBe('/.bashrc (conflicted copy my-pc 2024-05-06)');
  });
});

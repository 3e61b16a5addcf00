import { IgnoreMatcher, IgnoreRules, isJunkName } from '../../clients/sync/ignore';

const matcher = (text: string) => new IgnoreMatcher(IgnoreRules.parse(text));

describe('built-in junk names', () => {
  it.each(['.DS_Store', 'thumbs.db', 'Thumbs.db', 'DESKTOP.INI', 'Icon\r', '.~lock.report.odt#', '~$report.docx', '~WRL0001.tmp', 'notes.txt.swp', '.notes.txt.swp', 'x.swx'])('%j is junk', (name) => {
    expect(isJunkName(name)).toBe(true);
  });
  it.each(['notes.txt', 'Icon', 'backup~', 'report.docx', '$money.txt', 'lock.odt#', 'swp', 'desktop.ini.txt'])('%j is not junk', (name) => {
    expect(isJunkName(name)).toBe(false);
  });
  it('junk, the state dir and temp files are ignored at any depth, also as folders', () => {
    const m = new IgnoreMatcher();
    expect(m.ignores('/a/b/.DS_Store', false)).toBe(true);
    expect(m.ignores('/.tessera', true)).toBe(true);
    expect(m.ignores('/x.bin.tessera-partial', false)).toBe(true);
    expect(m.ignores('/.DS_Store/inner.txt', false)).toBe(true);
    expect(m.ignores('/a/b/c.txt', false)).toBe(false);
  });
});

describe('.tesseraignore rules', () => {
  it('skips comments and blank lines; a name without a slash matches at any depth', () => {
    const m = matcher('# build output\n\n*.log\nnode_modules\n');
    expect(m.ignores('/app.log', false)).toBe(true);
    expect(m.ignores('/a/b/app.log', false)).toBe(true);
    expect(m.ignores('/a/node_modules', true)).toBe(true);
    expect(m.ignores('/a/node_modules/x/index.js', false)).toBe(true);
    expect(m.ignores('/app.log.txt', false)).toBe(false);
    expect(m.ignores('/# build output', false)).toBe(false);
  });

  it('a leading slash (or any inner slash) anchors to the root', () => {
    const m = matcher('/top.txt\ndocs/*.tmp\n');
    expect(m.ignores('/top.txt', false)).toBe(true);
    expect(m.ignores('/sub/top.txt', false)).toBe(false);
    expect(m.ignores('/docs/a.tmp', false)).toBe(true);
    expect(m.ignores('/docs/deep/a.tmp', false)).toBe(false);
    expect(m.ignores('/x/docs/a.tmp', false)).toBe(false);
  });

  it('a trailing slash matches folders only (and so everything in them)', () => {
    const m = matcher('build/\n');
    expect(m.ignores('/build', true)).toBe(true);
    expect(m.ignores('/build', false)).toBe(false);
    expect(m.ignores('/src/build/out.o', false)).toBe(true);
  });

  it('** matches any number of folders; ? one character; [..] a class', () => {
    const m = matcher('a/**/z.txt\nlogs/**\n**/cache\nfile?.bin\nv[0-9].txt\n');
    expect(m.ignores('/a/z.txt', false)).toBe(true);
    expect(m.ignores('/a/b/c/z.txt', false)).toBe(true);
    expect(m.ignores('/b/a/z.txt', false)).toBe(false);
    expect(m.ignores('/logs/x/y.txt', false)).toBe(true);
    expect(m.ignores('/logs', true)).toBe(false);
    expect(m.ignores('/deep/er/cache', true)).toBe(true);
    expect(m.ignores('/file1.bin', false)).toBe(true);
    expect(m.ignores('/file12.bin', false)).toBe(false);
    expect(m.ignores('/v7.txt', false)).toBe(true);
    expect(m.ignores('/vx.txt', false)).toBe(false);
  });

  it('! re-includes (last match wins) but not inside an ignored folder', () => {
    const m = matcher('*.log\n!keep.log\nout/\n!out/important.txt\n');
    expect(m.ignores('/a.log', false)).toBe(true);
    expect(m.ignores('/keep.log', false)).toBe(false);
    expect(m.ignores('/out/important.txt', false)).toBe(true);
  });

  it('is case-insensitive and treats regex characters literally', () => {
    const m = matcher('Secret.TXT\na+b(1).txt\n');
    expect(m.ignores('/x/secret.txt', false)).toBe(true);
    expect(m.ignores('/a+b(1).txt', false)).toBe(true);
    expect(m.ignores('/aab1.txt', false)).toBe(false);
  });

  it('ignoredByUser is false for built-in junk and true for user rules', () => {
    const m = matcher('build/\n');
    expect(m.ignoredByUser('/p/.DS_Store', false)).toBe(false);
    expect(m.ignoredByUser('/p/build', true)).toBe(true);
    expect(m.ignoredByUser('/p/build/a.o', false)).toBe(true);
    expect(m.ignoredByUser('/p/src.c', false)).toBe(false);
  });
});

import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * `npm start` runs `scripts/build.js --if-changed`: it compiles only when a source is newer than
 * dist/.build-stamp. Checked on a tiny project laid out like this one (its own tsconfig.build.json
 * compiling one file), so the test is fast and never touches this checkout's dist/.
 */
describe('scripts/build.js --if-changed', () => {
  let dir: string;
  const build = (...args: string[]) => {
    const started = Date.now();
    const r = spawnSync(process.execPath, [join(dir, 'scripts', 'build.js'), ...args], { cwd: tmpdir(), encoding: 'utf8' });
    return { code: r.status, stderr: r.stderr, ms: Date.now() - started };
  };
  const out = () => join(dir, 'dist', 'src', 'a.js');
  const stampTime = () => statSync(join(dir, 'dist', '.build-stamp')).mtimeMs;
  /** Dates the last build a minute back, so that what the test writes next is newer than it. */
  const ageBuild = () => { const t = new Date(Date.now() - 60_000); utimesSync(join(dir, 'dist', '.build-stamp'), t, t); };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tessera-build-'));
    mkdirSync(join(dir, 'scripts'));
    mkdirSync(join(dir, 'src'));
    cpSync(join(ROOT, 'scripts', 'build.js'), join(dir, 'scripts', 'build.js'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { target: 'es2022', module: 'commonjs', outDir: 'dist', rootDir: '.', types: [] } }));
    writeFileSync(join(dir, 'tsconfig.build.json'), JSON.stringify({ extends: './tsconfig.json', include: ['src'] }));
    writeFileSync(join(dir, 'src', 'a.ts'), 'export const a: number = 1;\n');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('builds when there is no build, then skips while nothing changed, and rebuilds after an edit or a deletion', () => {
    const first = build('--if-changed');
    expect(first.code).toBe(0);
    expect(first.stderr).toContain('no previous build');
    expect(readFileSync(out(), 'utf8')).toContain('exports.a = 1');
    const stamped = stampTime();

    // nothing changed: no compiler run, well under the 3 s start budget
    const again = build('--if-changed');
    expect(again.code).toBe(0);
    expect(again.stderr).toBe('');
    expect(again.ms).toBeLessThan(1500);
    expect(stampTime()).toBe(stamped);

    // an edited source (saved after the build) is compiled
    ageBuild();
    writeFileSync(join(dir, 'src', 'a.ts'), 'export const a: number = 2;\n');
    const edited = build('--if-changed');
    expect(edited.code).toBe(0);
    expect(edited.stderr).toContain('src changed');
    expect(readFileSync(out(), 'utf8')).toContain('exports.a = 2');

    // a new file, then its deletion (the folder's mtime moves), each trigger a build
    ageBuild();
    writeFileSync(join(dir, 'src', 'b.ts'), 'export const b = 3;\n');
    expect(build('--if-changed').stderr).toContain('src changed');
    ageBuild();
    utimesSync(join(dir, 'src', 'a.ts'), new Date(0), new Date(0));
    utimesSync(join(dir, 'src', 'b.ts'), new Date(0), new Date(0));
    unlinkSync(join(dir, 'src', 'b.ts'));
    expect(build('--if-changed').stderr).toContain('src changed');
    expect(build('--if-changed').stderr).toBe('');
  });

  it('a failing compile exits non-zero and leaves the stamp, so the next start tries again', () => {
    ageBuild();
    const stamped = stampTime();
    writeFileSync(join(dir, 'src', 'a.ts'), 'export const a: number = "not a number";\n');
    const broken = build('--if-changed');
    expect(broken.code).not.toBe(0);
    expect(stampTime()).toBe(stamped);
    expect(build('--if-changed').stderr).toContain('src changed');
  });
});

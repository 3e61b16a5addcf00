/**
 * What the sync engine leaves alone: built-in OS / editor junk and the user's `.tesseraignore`.
 *
 * `.tesseraignore` (at the sync root, synced like any file) holds gitignore-style lines:
 * blank lines and `#` comments are skipped; `*` matches within a name, `?` one character,
 * `[abc]` / `[!abc]` a character class, `**` any number of folders; a pattern without a `/`
 * (other than a trailing one) matches a name at any depth, one with a `/` is relative to the
 * root (a leading `/` only anchors); a trailing `/` matches folders only; `!` re-includes
 * (the last matching line wins), but never inside an ignored folder; `\` escapes the next
 * character. Matching is case-insensitive (as names are on macOS and Windows).
 */
import { posix } from 'node:path';
import { isIgnoredPath } from './paths';

/** The user's rules file at the sync root. */
export const IGNORE_FILE = '.tesseraignore';

const JUNK_NAMES = new Set(['.ds_store', 'thumbs.db', 'ehthumbs.db', 'desktop.ini', 'icon\r', '.directory']);

/**
 * OS and editor junk no device should share: `.DS_Store`, `Thumbs.db`, `desktop.ini`, `Icon\r`
 * (case-insensitive), LibreOffice locks `.~lock.*#`, Office owner files `~$*` and temp files
 * `~*.tmp`, vim swap files `*.swp` / `*.swx` (also `.name.swp`). Editor backups `*~` are NOT
 * junk (they can be the only other copy of a file); add `*~` to `.tesseraignore` to skip them.
 */
export function isJunkName(name: string): boolean {
  const n = name.toLowerCase();
  return JUNK_NAMES.has(n)
    || (n.startsWith('.~lock.') && n.endsWith('#'))
    || n.startsWith('~$')
    || (n.startsWith('~') && n.endsWith('.tmp'))
    || n.endsWith('.swp') || n.endsWith('.swx');
}

interface Rule {
  negate: boolean;
  dirOnly: boolean;
  /** Matched against the whole relative path (no leading "/") when anchored, else against the name. */
  anchored: boolean;
  re: RegExp;
}

/** Parsed `.tesseraignore` rules. */
export class IgnoreRules {
  private constructor(private readonly rules: Rule[], readonly source: string) {}

  /** No user rules. */
  static readonly none = new IgnoreRules([], '');

  /** Parses the file's text (lines that are not valid patterns are skipped). */
  static parse(text: string): IgnoreRules {
    const rules: Rule[] = [];
    for (const raw of text.split(/\r?\n/)) {
      let line = raw.replace(/(?<!\\)\s+$/, '');
      if (!line || line.startsWith('#')) continue;
      const negate = line.startsWith('!');
      if (negate) line = line.slice(1);
      else if (line.startsWith('\\!') || line.startsWith('\\#')) line = line.slice(1);
      const dirOnly = line.endsWith('/');
      line = line.replace(/\/+$/, '');
      const anchored = line.includes('/');
      line = line.replace(/^\/+/, '');
      if (!line) continue;
      rules.push({ negate, dirOnly, anchored, re: new RegExp(`^${globToRegex(line)}$`, 'is') });
    }
    return new IgnoreRules(rules, text);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** Whether `rel` ("/a/b") itself matches (its folders not considered): the last matching rule decides. */
  matchesSelf(rel: string, isDir: boolean): boolean {
    const path = rel.replace(/^\/+/, '');
    const name = posix.basename(path);
    let ignored = false;
    for (const r of this.rules) {
      if (r.dirOnly && !isDir) continue;
      if (r.re.test(r.anchored ? path : name)) ignored = !r.negate;
    }
    return ignored;
  }
}

/**
 * Decides for relative paths whether the engine syncs them: the state dir and download temp
 * files, junk names and paths the user's rules ignore (or that lie in an ignored folder) are
 * not synced. Folder decisions are cached, so ask one matcher for a whole tree.
 */
export class IgnoreMatcher {
  private readonly folders = new Map<string, boolean>();

  constructor(readonly rules: IgnoreRules = IgnoreRules.none) {}

  /** True when `rel` is not synced. `isDir` says whether it is a folder. */
  ignores(rel: string, isDir: boolean): boolean {
    if (this.isNameIgnored(posix.basename(rel)) || this.rules.matchesSelf(rel, isDir)) return true;
    const parent = posix.dirname(rel);
    return parent !== '/' && parent !== '.' && this.folderIgnored(parent);
  }

  /** True when `rel` is ignored only by the user's rules (not built-in): such content keeps its folder alive. */
  ignoredByUser(rel: string, isDir: boolean): boolean {
    return !isIgnoredPath(rel) && !rel.split('/').some((s) => s && isJunkName(s)) && this.ignores(rel, isDir);
  }

  private isNameIgnored(name: string): boolean {
    return isIgnoredPath('/' + name) || isJunkName(name);
  }

  private folderIgnored(dir: string): boolean {
    let v = this.folders.get(dir);
    if (v === undefined) {
      v = this.ignores(dir, true);
      this.folders.set(dir, v);
    }
    return v;
  }
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      const atStart = i === 0 || glob[i - 1] === '/';
      const atEnd = i + 2 === glob.length || glob[i + 2] === '/';
      if (atStart && atEnd) {
        if (i + 2 === glob.length) out += '.*';
        else { out += '(?:.*/)?'; i++; }
        i++;
        continue;
      }
      out += '[^/]*';
      i++;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '\\' && i + 1 < glob.length) out += escape(glob[++i]);
    else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) { out += '\\['; continue; }
      let body = glob.slice(i + 1, end);
      const neg = body.startsWith('!') || body.startsWith('^');
      if (neg) body = body.slice(1);
      out += `[${neg ? '^' : ''}${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = end;
    } else out += escape(c);
  }
  return out;
}

function escape(c: string): string {
  return c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

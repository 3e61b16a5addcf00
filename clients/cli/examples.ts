import type { Command } from 'commander';
import { examples } from './help';

/** Examples for every command's help, by command path ("link create"); checked by test/sdk/cli-help.test.ts. */
export const EXAMPLES: Record<string, string[]> = {
  signup: ['tessera --server http://localhost:4000 signup --email me@example.com', 'tessera signup --email me@example.com --device laptop   # the current server'],
  login: ['tessera --server https://files.example.com login --email me@example.com', 'tessera login   # the current server again, e.g. after logout'],
  logout: ['tessera logout', 'tessera --server https://files.example.com logout'],
  whoami: ['tessera whoami', 'tessera whoami --json'],
  devices: ['tessera devices', 'tessera devices --json'],
  'revoke-device': ['tessera revoke-device 3f1c2a9e-0d4b-4a53-9a43-5b1f0c7e2d11   # an id from `tessera devices`'],
  ls: ['tessera ls', 'tessera ls /photos --bytes', 'tessera ls /photos --json | jq -r ".[].name"'],
  mkdir: ['tessera mkdir /photos/2026'],
  mv: ['tessera mv /a.txt /docs/b.txt', 'tessera mv /old-folder /new-folder'],
  rm: ['tessera rm /docs/b.txt   # to the trash: `tessera trash`, `tessera restore <id>`'],
  upload: ['tessera upload ./video.mkv /videos/', 'tessera upload ./photos /backup -j 4', 'tessera upload ./photos/ /photos   # the contents of ./photos'],
  download: ['tessera download /videos/video.mkv .', 'tessera download /photos ~/restore --fsync'],
  share: ['tessera share /team bob@example.com --role editor', 'tessera share /report.pdf carol@example.com'],
  shares: ['tessera shares /team', 'tessera shares /team --json'],
  unshare: ['tessera unshare 8c0d2f7e-5b43-4f0e-9d7a-3c2b1a0f9e88   # an id from `tessera shares` or `tessera shared`'],
  shared: ['tessera shared'],
  link: ['tessera link create /report.pdf --expires 7d', 'tessera link ls /report.pdf', 'tessera link revoke <id>'],
  'link create': ['tessera link create /report.pdf', 'tessera link create /holiday --expires 7d --password "open sesame"   # a folder: a page and a zip'],
  'link ls': ['tessera link ls /holiday', 'tessera link ls /holiday --json'],
  'link revoke': ['tessera link revoke 5e9a7c1d-2b3f-4e6a-8d0c-1f2e3a4b5c6d   # an id from `tessera link ls`'],
  trash: ['tessera trash', 'tessera trash --json'],
  restore: ['tessera restore 1b2c3d4e-5f60-4718-9a0b-1c2d3e4f5a6b   # an id from `tessera trash`'],
  revisions: ['tessera revisions /notes.txt', 'tessera revisions /notes.txt --json'],
  'restore-revision': ['tessera restore-revision /notes.txt 2'],
  changes: ['tessera changes', 'tessera changes --cursor <cursor>   # what changed since', 'tessera changes --follow', 'tessera changes --json'],
  serve: ['tessera serve', 'tessera serve --port 8080 --data-dir /var/lib/tessera', 'DATABASE_URL=mariadb://u:p@db/tessera STORAGE=s3 S3_BUCKET=b tessera serve'],
  keys: ['tessera keys rotate --dry-run', 'tessera keys rotate --help'],
  'keys rotate': [
    'tessera keys rotate --dry-run   # which master key opens how many files',
    'tessera keys rotate --generate --data-dir /var/lib/tessera   # new key; restart the server; then:',
    'tessera keys rotate --retire --data-dir /var/lib/tessera',
    'ENCRYPTION_KEY=<new>,<old> tessera keys rotate',
    'tessera keys rotate --encrypt-plaintext   # a store that had objects before encryption was on',
  ],
  sync: ['tessera sync ~/Tessera', 'tessera sync ~/Work --remote /work', 'tessera sync ~/Tessera --once'],
  status: ['tessera status   # the folder this shell is in', 'tessera status ~/Tessera', 'tessera status ~/Tessera --json'],
};

/** Adds the examples above to every command and subcommand that has some. */
export function addExamples(program: Command): void {
  const walk = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const path = prefix ? `${prefix} ${sub.name()}` : sub.name();
      const lines = EXAMPLES[path];
      if (lines) examples(sub, ...lines);
      walk(sub, path);
    }
  };
  walk(program, '');
}

import type { ActionOutcome } from './executor';

/**
 * One line per action: `↑ /a.txt` (upload), `↓ /b.txt` (download), `↑ /d/` / `↓ /d/` (folders),
 * `↑ rm /x` / `↓ rm /x` (deletions: remote / local), `↑ mv /a -> /b` / `↓ mv ...` (renames),
 * `! /a.txt -> /a (conflicted copy ...).txt`, `✗ /c.txt: CODE message`. Records print nothing (null).
 */
export function describeOutcome(o: ActionOutcome): string | null {
  const a = o.action;
  if (o.error) {
    const code = (o.error as { code?: unknown }).code;
    return `✗ ${a.path}: ${typeof code === 'string' ? code : 'ERROR'} ${o.error.message}`;
  }
  const copy = o.conflictCopy ? `  (kept the local version as ${o.conflictCopy})` : '';
  switch (a.type) {
    case 'record': return null;
    case 'upload': return `↑ ${a.path}${copy}`;
    case 'download': return `↓ ${a.path}${copy}`;
    case 'mkdirRemote': return `↑ ${a.path}/`;
    case 'mkdirLocal': return `↓ ${a.path}/`;
    case 'deleteRemote': return `↑ rm ${a.path}`;
    case 'deleteLocal': return `↓ rm ${a.path}`;
    case 'moveRemote': return `↑ mv ${a.from} -> ${a.path}`;
    case 'moveLocal': return `↓ mv ${a.from} -> ${a.path}`;
    case 'conflict': return `! ${a.path} -> ${a.copyPath}`;
  }
}

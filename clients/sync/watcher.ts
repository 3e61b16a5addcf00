import { watch, type FSWatcher } from 'node:fs';
import { isJunkName } from './ignore';
import { toRel } from './local-tree';
import { isIgnoredPath } from './paths';

/**
 * Reports what changes under `folder` (fs.watch, recursive: supported on Linux by Node 20):
 * `onChange(rel)` with the changed path relative to the folder ("/a/b.txt"), or `null` when
 * the event names no path (the caller must then look at everything). Events on the state
 * dir, download temp files and junk names are dropped. Callers debounce. If the watcher fails
 * (e.g. out of inotify watches), `onError` is called and it stops; the engine then scans
 * everything on every cycle.
 */
export class FolderWatcher {
  private watcher: FSWatcher | null = null;

  constructor(private readonly folder: string, private readonly onChange: (rel: string | null) => void, private readonly onError: (e: Error) => void) {}

  /** True while the watcher runs (started and not failed). */
  get active(): boolean {
    return this.watcher !== null;
  }

  start(): void {
    try {
      this.watcher = watch(this.folder, { recursive: true }, (_event, name) => {
        const rel = name ? toRel(name.toString()) : null;
        if (rel && (isIgnoredPath(rel) || rel.split('/').some((s) => s && isJunkName(s)))) return;
        this.onChange(rel);
      });
      this.watcher.on('error', (e) => {
        this.stop();
        this.onError(e);
      });
    } catch (e) {
      this.watcher = null;
      this.onError(e as Error);
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}

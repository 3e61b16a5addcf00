import { watch, type FSWatcher } from 'node:fs';
import { isIgnoredPath } from './paths';

/**
 * Calls `onChange` when something under `folder` changes (fs.watch, recursive: supported on
 * Linux by Node 20), ignoring the state dir and download temp files. Callers debounce. If the
 * watcher fails (e.g. out of inotify watches), `onError` is called and it stops; the engine's
 * periodic rescan still catches every change.
 */
export class FolderWatcher {
  private watcher: FSWatcher | null = null;

  constructor(private readonly folder: string, private readonly onChange: () => void, private readonly onError: (e: Error) => void) {}

  start(): void {
    try {
      this.watcher = watch(this.folder, { recursive: true }, (_event, name) => {
        if (name && isIgnoredPath('/' + name.toString().split(/[\\/]/).join('/'))) return;
        this.onChange();
      });
      this.watcher.on('error', (e) => {
        this.stop();
        this.onError(e);
      });
    } catch (e) {
      this.onError(e as Error);
    }
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
  }
}

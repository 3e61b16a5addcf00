import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraClient } from '../../clients/sdk/client';
import { SyncEngine, type SyncEngineOptions } from '../../clients/sync/engine';

/** A signed-in client with its own sync folder. */
export interface Device { client: TesseraClient; folder: string }

/** One account, several "devices" (each a signed-in client with its own sync folder). */
export class SyncFixture {
  readonly email = `sync-${Date.now()}-${Math.random().toString(36).slice(2)}@example.com`;
  readonly engines: SyncEngine[] = [];
  private dirs: string[] = [];

  constructor(readonly serverUrl: string) {}

  async signUp(): Promise<TesseraClient> {
    const c = new TesseraClient({ server: this.serverUrl });
    await c.signUp(this.email, 'correct horse battery', { deviceName: 'setup' });
    return c;
  }

  async device(name: string): Promise<Device> {
    const client = new TesseraClient({ server: this.serverUrl });
    await client.signIn(this.email, 'correct horse battery', { deviceName: name });
    const folder = await mkdtemp(join(tmpdir(), `tessera-sync-${name}-`));
    this.dirs.push(folder);
    return { client, folder };
  }

  async engine(dev: Device, opts: Partial<SyncEngineOptions> = {}): Promise<SyncEngine> {
    const e = await SyncEngine.open({ client: dev.client, folder: dev.folder, ...opts });
    this.engines.push(e);
    return e;
  }

  /** A new account ("web": the account's own client) with devices "laptop" (A) and "desk" (B), each with an engine. */
  async twoDevices(): Promise<{ web: TesseraClient; A: Device; B: Device; ea: SyncEngine; eb: SyncEngine }> {
    const web = await this.signUp();
    const A = await this.device('laptop');
    const B = await this.device('desk');
    return { web, A, B, ea: await this.engine(A), eb: await this.engine(B) };
  }

  async cleanup(): Promise<void> {
    for (const e of this.engines) await e.close().catch(() => undefined);
    for (const d of this.dirs) await rm(d, { recursive: true, force: true });
  }
}

/** Every file and folder under `dir` (relative, "/"-prefixed, folders with a trailing "/") with file contents, `.tessera` left out. */
export async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
      if (d.name === '.tessera') continue;
      const p = `${rel}/${d.name}`;
      if (d.isDirectory()) {
        out[p + '/'] = '';
        await walk(p);
      } else {
        out[p] = (await readFile(join(dir, p))).toString('utf8');
      }
    }
  };
  await walk('');
  return out;
}

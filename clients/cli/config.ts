import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** What `tessera login` / `signup` remember per server: the account and this device's token. */
export interface Profile {
  token: string;
  email: string;
  deviceId?: string;
  deviceName?: string | null;
}

export interface CliConfig {
  /** The server of the last `login` / `signup`: commands without --server or $TESSERA_SERVER use it. */
  current?: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_SERVER = 'http://localhost:4000';

/** `$TESSERA_CONFIG_DIR`, else `~/.config/tessera`. */
export function configDir(env: NodeJS.ProcessEnv): string {
  return env.TESSERA_CONFIG_DIR || join(homedir(), '.config', 'tessera');
}

/**
 * The server URL: `--server`, else `$TESSERA_SERVER`, else the current profile's server (the last
 * `login` / `signup`), else http://localhost:4000 (no trailing slash).
 */
export function resolveServer(flag: string | undefined, env: NodeJS.ProcessEnv, current?: string): string {
  const url = (flag || env.TESSERA_SERVER || current || DEFAULT_SERVER).replace(/\/+$/, '');
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `http://${url}`; // "localhost:4000" means http://localhost:4000
}

/** Reads config.json; an absent or unreadable file is an empty config. */
export async function loadConfig(env: NodeJS.ProcessEnv): Promise<CliConfig> {
  try {
    const parsed = JSON.parse(await readFile(join(configDir(env), 'config.json'), 'utf8')) as Partial<CliConfig>;
    return { current: typeof parsed.current === 'string' ? parsed.current : undefined, profiles: parsed.profiles ?? {} };
  } catch {
    return { profiles: {} };
  }
}

/** Writes config.json with mode 0600 (its directory 0700). */
export async function saveConfig(env: NodeJS.ProcessEnv, config: CliConfig): Promise<string> {
  const dir = configDir(env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'config.json');
  await writeFile(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return file;
}

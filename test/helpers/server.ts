import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { createApp, type App, type AppOptions } from '../../src/server/app';
import { loadConfig, type Config } from '../../src/server/config';
import type { StorageConfig } from '../../src/storage/registry';
import { freshDatabase, type DbKind } from './db';

export interface TestServer {
  url: string;
  app: App;
  config: Config;
  stop(): Promise<void>;
}

export interface TestServerOptions {
  db?: DbKind;
  /** Default: the local store in a temp dir. */
  storage?: StorageConfig;
  config?: Partial<Config>;
  /** Reuse this database (e.g. to restart a server on the same data). */
  databaseUrl?: string;
  dataDir?: string;
  /** A TypeORM logger for the server's DataSource (e.g. to count SQL queries). */
  dbLogger?: AppOptions['dbLogger'];
}

/** A real Tessera server on 127.0.0.1 with its own database and data dir. */
export async function startTestServer(opts: TestServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-srv-'));
  const db = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => {} } : await freshDatabase(opts.db ?? 'sqlite');
  const base = loadConfig({ DATA_DIR: dataDir, DATABASE_URL: db.url, JWT_SECRET: 'test-jwt-secret', SIGNING_SECRET: 'test-signing-secret' });
  const config: Config = {
    ...base,
    ...(opts.storage ? { storage: opts.storage } : {}),
    logLevel: 'silent',
    // every suite signs many users up from 127.0.0.1; test/server/abuse*.test.ts tests the real limit
    signUpMaxPerWindow: 1_000_000,
    ...opts.config,
  };
  const app = await createApp(config, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), dbLogger: opts.dbLogger });
  const port = await app.listen(0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    config,
    stop: async () => {
      await app.close();
      if (!opts.databaseUrl) await db.drop();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

import 'reflect-metadata';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';

/** `npm start`: the service on the configured (or embedded default) settings. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(e.message);
      process.exit(2);
    }
    throw e;
  }
  const app = await createApp(config);
  const port = await app.listen();
  app.log.info({ port, storage: config.storage.kind, database: config.databaseUrl.split(':')[0], dataDir: config.dataDir },
    `Tessera listening on http://localhost:${port}/graphql`);
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) process.exit(1);
      stopping = true;
      app.log.info({ signal }, 'shutting down');
      app.close().then(() => process.exit(0), (err) => { app.log.error({ err }, 'shutdown failed'); process.exit(1); });
    });
  }
}

main().catch((err) => {
  // a port in use is the user's to fix: one line, no stack trace
  console.error(err?.code === 'EADDRINUSE' ? `error: ${err.message}` : err);
  process.exit(1);
});

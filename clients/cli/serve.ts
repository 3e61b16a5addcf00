import { InvalidArgumentError, type Command } from 'commander';
import type { CliContext } from './context';
import { interruptible } from './interrupt';

/**
 * `serve [--port] [--host] [--data-dir]`: the Tessera service itself, on the embedded defaults
 * (SQLite and the local store under ./data) or whatever the environment configures (README,
 * "Configuration"); flags override PORT, HOST and DATA_DIR. Runs until Ctrl-C / SIGTERM, then
 * closes connections and the database. A bad setting fails (CONFIG) with every problem named.
 */
export function registerServeCommands(program: Command, ctx: CliContext): void {
  program
    .command('serve')
    .description('run the Tessera service (GraphQL API, GraphiQL, local store) until Ctrl-C')
    .option('-p, --port <port>', 'port to listen on (default: $PORT or 4000)', toPort)
    .option('--host <host>', 'address to listen on (default: $HOST or 0.0.0.0)')
    .option('-d, --data-dir <dir>', 'SQLite file, local blobs, generated secrets (default: $DATA_DIR or ./data)')
    .action(async (o: { port?: number; host?: string; dataDir?: string }) => {
      // loaded here, so the client commands never load the server
      require('reflect-metadata');
      const { createApp } = require('../../src/server/app') as typeof import('../../src/server/app');
      const { ConfigError, loadConfig } = require('../../src/server/config') as typeof import('../../src/server/config');
      const env = { ...ctx.io.env };
      if (o.port !== undefined) env.PORT = String(o.port);
      if (o.host) env.HOST = o.host;
      if (o.dataDir) env.DATA_DIR = o.dataDir;
      let config;
      try {
        config = loadConfig(env);
      } catch (e) {
        if (!(e instanceof ConfigError)) throw e;
        ctx.io.stderr.write(`${e.message}\n`);
        throw Object.assign(new Error('bad configuration'), { code: 'CONFIG' });
      }
      const app = await createApp(config);
      const stop = interruptible('stopped');
      try {
        const port = await app.listen();
        const shown = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
        ctx.io.stderr.write(`Tessera listening on http://${shown}:${port}/graphql (storage ${config.storage.kind}, data in ${config.dataDir}); Ctrl-C stops it\n`);
        await new Promise<void>((r) => stop.signal.addEventListener('abort', () => r(), { once: true }));
        ctx.io.stderr.write('shutting down\n');
      } finally {
        stop.dispose();
        await app.close();
      }
    });
}

function toPort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port number (0-65535)');
  return n;
}

import http from 'node:http';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLError, NoSchemaIntrospectionCustomRule, getOperationAST, parse, specifiedRules, validate, type DocumentNode } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import pino, { type Logger } from 'pino';
import { WebSocketServer } from 'ws';
import type { Logger as DbLogger } from 'typeorm';
import { openDataSource } from '../../ormconfig';
import { createLoaders, type Context } from '../resolvers/context';
import { createSchema } from '../resolvers';
import { createServices, memoryRateLimiters, type RateLimiterFactory, type Services } from '../services';
import { LocalEventBus, type EventBus } from '../services/events';
import { createStorage, localAdapterOf } from '../storage/registry';
import { blobRoutes } from './blob-routes';
import type { Config } from './config';
import { formatError } from './errors';
import { graphiqlRouter } from './graphiql';
import { errorHandler, notFoundHandler } from './http-errors';
import { logMixin, Metrics } from './metrics';
import { limitChecker } from './query-limits';
import { trackWebSockets } from './ws-limits';
import { shareLinkRoutes } from './share-link-routes';
import { folderZipRoutes } from './folder-zip-routes';
import { webAppRouter } from './web-app';
import { MAX_PAGE_SIZE } from '../services/files';

export interface App {
  server: http.Server;
  services: Services;
  log: Logger;
  /** Runs the janitor once now (it also runs every 10 minutes), recording its result in the metrics. */
  runJanitor(): Promise<void>;
  /** Listens; resolves with the bound port. A port in use rejects with code EADDRINUSE, "port N on HOST is in use". */
  listen(port?: number, host?: string): Promise<number>;
  /** Stops taking requests, finishes those in flight, closes WebSockets, the bus, the rate limiters' Redis connection and the database. */
  close(): Promise<void>;
}

export interface AppOptions {
  logger?: Logger;
  /** An event bus shared with other in-process instances (tests); default in-process or Redis. */
  bus?: EventBus;
  /** A TypeORM logger (tests count SQL queries with one). */
  dbLogger?: DbLogger;
}

/** Builds the whole service: database, store, services, GraphQL over HTTP and graphql-ws, blob routes. */
export async function createApp(config: Config, opts: AppOptions = {}): Promise<App> {
  const log = opts.logger ?? pino({ level: config.logLevel, mixin: logMixin });
  const ds = await openDataSource({ databaseUrl: config.databaseUrl, logger: opts.dbLogger });
  const storage = createStorage(config.storage);
  const bus = opts.bus ?? (await createBus(config, log));
  const rateLimits = await createRateLimiters(config, log);
  const services = createServices(ds, storage, bus, config, rateLimits.factory);
  const backfilled = await services.mounts.backfill(); // shares made before mounts existed
  if (backfilled) log.info({ backfilled }, 'mounted existing shares');
  const metrics = new Metrics({ ds, redis: () => ({ ...bus.redisStatus?.(), ...rateLimits.redisStatus?.() }) });
  services.journal.onWritten = metrics.journalWritten;
  const schema = await createSchema();
  const checkLimits = limitChecker(schema, {
    maxDepth: config.maxQueryDepth, maxComplexity: config.maxQueryComplexity, maxPageSize: MAX_PAGE_SIZE, defaultPageSize: 100,
    maxAliases: config.maxQueryAliases, maxDirectives: config.maxQueryDirectives, maxMutations: config.maxMutationsPerRequest, maxTokens: config.maxQueryTokens,
  });
  const rules = [...specifiedRules, ...(config.introspection ? [] : [NoSchemaIntrospectionCustomRule])];

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.trustProxy);
  app.use(metrics.middleware(log));
  app.use((_req, res, next) => { res.setHeader('X-Content-Type-Options', 'nosniff'); next(); });
  const server = http.createServer(app);
  // noServer: attached with `server`, ws re-emits the HTTP server's errors (a failed listen) on the
  // WebSocket server, where graphql-ws logs them as an internal error with a stack trace
  // maxPayload: a message larger than an HTTP body may be is refused (close 1009) before it is buffered
  const wss = new WebSocketServer({ noServer: true, path: '/graphql', maxPayload: config.maxRequestBytes });
  server.on('upgrade', (req, socket, head) => {
    if (!wss.shouldHandle(req)) return void socket.destroy(); // only /graphql upgrades, as when attached
    wss.handleUpgrade(req, socket, head, (ws) => {
      wss.emit('connection', ws, req);
      // graphql-ws prints every socket error (an oversized message too) to the console with its
      // stack: a client's protocol error is not the server's, log it at debug instead
      ws.removeAllListeners('error');
      ws.on('error', (err) => { log.debug({ err: err.message }, 'websocket closed on a protocol error'); ws.terminate(); });
    });
  });
  const sockets = trackWebSockets(services, { anonymousMs: config.wsAnonymousMs, maxPerUser: config.wsMaxConnectionsPerUser });
  const liveSubscriptions = new WeakMap<object, Set<string>>();
  const wsServer = useServer<Record<string, unknown>>({
    schema,
    connectionInitWaitTimeout: config.wsInitTimeoutMs,
    onConnect: sockets.onConnect,
    onClose: sockets.onClose,
    // the request limits first, then parse and validate here, so that every refusal is an error message with a code
    onSubscribe: (_ctx, _id, payload) => {
      const refused = checkLimits(String(payload.query));
      if (refused.length) return [...refused];
      let document: DocumentNode;
      try {
        document = parse(payload.query, { maxTokens: config.maxQueryTokens });
      } catch (e) {
        return [new GraphQLError(e instanceof GraphQLError ? e.message : 'invalid query', { extensions: { code: 'BAD_USER_INPUT' } })];
      }
      const errors = validate(schema, document, rules);
      if (errors.length) return errors;
      return { schema, document, operationName: payload.operationName, variableValues: payload.variables };
    },
    onError: (_ctx, _id, _payload, errors) => errors.map((e) => formatError(e.toJSON(), e, log)),
    // live subscriptions: counted from their start until they complete (also when the socket closes)
    onOperation: (ctx, id, _payload, args) => {
      if (getOperationAST(args.document, args.operationName)?.operation !== 'subscription') return;
      const ids = liveSubscriptions.get(ctx) ?? new Set<string>();
      liveSubscriptions.set(ctx, ids.add(id));
      metrics.subscriptions.inc();
    },
    onComplete: (ctx, id) => {
      if (liveSubscriptions.get(ctx)?.delete(id)) metrics.subscriptions.dec();
    },
    context: async (ctx) => ({
      principal: await authenticate(services, String(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization ?? '')),
      services,
      loaders: createLoaders(services),
      ip: (ctx.extra as { request?: http.IncomingMessage }).request?.socket.remoteAddress ?? '',
      publicUrl: config.publicUrl ?? hostUrl('http', (ctx.extra as { request?: http.IncomingMessage }).request?.headers.host),
    }) satisfies Context,
    onNext: (_ctx, _id, _payload, _args, result) => {
      if (!('errors' in result) || !result.errors?.length) return result;
      return { ...result, errors: result.errors.map((e) => formatError(e.toJSON ? e.toJSON() : e, e, log) as GraphQLError) };
    },
  }, wss);

  const apollo = new ApolloServer<Context>({
    schema,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false, // whatever NODE_ENV says
    validationRules: config.introspection ? [] : [NoSchemaIntrospectionCustomRule],
    parseOptions: { maxTokens: config.maxQueryTokens },
    formatError: (formatted, error) => formatError(formatted, error, log),
    plugins: [ApolloServerPluginDrainHttpServer({ httpServer: server }), rejectHttpSubscriptions, closeWebSockets(wsServer), metrics.apolloPlugin() as ApolloServerPlugin<Context>],
  });
  await apollo.start();

  app.get('/healthz', (_req, res) => { res.json({ ok: true }); });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.allSettled([ds.query('SELECT 1'), storage.ping()]);
    const [db, store] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : String((c as PromiseRejectedResult).reason?.message ?? 'error')));
    res.status(db === 'ok' && store === 'ok' ? 200 : 503).json({ database: db, storage: store });
  });
  const local = localAdapterOf(storage);
  if (local) app.use('/blobs', blobRoutes(local, { allowGet: (grant) => services.downloadGrants.allows(grant) }));
  app.use(shareLinkRoutes(services.shareLinks));
  app.use(folderZipRoutes(services.folderZips));
  app.use(graphiqlRouter());
  app.use('/graphql', express.json({ limit: config.maxRequestBytes }), bodyAlways, enforceLimits(checkLimits), expressMiddleware(apollo, {
    context: async ({ req }) => ({
      principal: await authenticate(services, req.headers.authorization ?? ''), services, loaders: createLoaders(services), ip: req.ip ?? '',
      publicUrl: config.publicUrl ?? hostUrl(req.protocol, req.get('host')),
    }),
  }));

  app.use(metrics.router(config.metricsToken));
  app.use(webAppRouter());
  app.use(notFoundHandler);
  app.use(errorHandler(log));

  const runJanitor = () => services.janitor.run().then((report) => { metrics.janitorRan(report); }, (err) => {
    metrics.janitorRan(null);
    log.warn({ err }, 'janitor failed');
  });
  const janitor = setInterval(() => void runJanitor(), 10 * 60_000);
  janitor.unref();
  const retention = setInterval(() => {
    services.retention.run().catch((err) => log.warn({ err }, 'retention failed'));
  }, 60 * 60_000);
  retention.unref();

  let closed: Promise<void> | undefined;
  return {
    server,
    services,
    log,
    runJanitor,
    listen: (port = config.port, host = config.host) => new Promise((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => reject(e.code === 'EADDRINUSE'
        ? Object.assign(new Error(`port ${port} on ${host} is in use`), { code: e.code, cause: e })
        : e));
      server.listen(port, host, () => resolve((server.address() as { port: number }).port));
    }),
    close: () => (closed ??= (async () => {
      clearInterval(janitor);
      clearInterval(retention);
      await apollo.stop();
      await bus.close();
      await rateLimits.close();
      await storage.close?.();
      await ds.destroy();
    })()),
  };
}

/** `proto://host` from a request (behind a proxy, with TRUST_PROXY, Express's protocol follows X-Forwarded-Proto). */
function hostUrl(protocol: string, host: string | undefined): string | undefined {
  return host && /^[\w.\-:[\]]+$/.test(host) ? `${protocol}://${host}` : undefined;
}

async function authenticate(services: Services, header: string) {
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? services.auth.authenticate(m[1]) : null;
}

async function createBus(config: Config, log: Logger): Promise<EventBus> {
  if (!config.redisUrl) return new LocalEventBus();
  const { RedisEventBus } = require('../services/redis-bus') as typeof import('../services/redis-bus');
  log.info('subscription fan-out through Redis');
  return new RedisEventBus(config.redisUrl, log);
}

/** Sign-in and share-link password failures: counted in Redis across instances when it is configured. */
async function createRateLimiters(config: Config, log: Logger): Promise<{ factory: RateLimiterFactory; close(): Promise<void>; redisStatus(): Record<string, string> }> {
  if (!config.redisUrl) return { factory: memoryRateLimiters, close: async () => {}, redisStatus: () => ({}) };
  const { RedisRateLimiter, connectRateLimitRedis, closeRateLimitRedis } = require('../services/redis-rate-limit') as typeof import('../services/redis-rate-limit');
  log.info('rate limits counted through Redis');
  const redis = await connectRateLimitRedis(config.redisUrl, log);
  return {
    factory: (name, limit) => new RedisRateLimiter(redis, name, limit, log),
    close: () => closeRateLimitRedis(redis),
    redisStatus: () => ({ 'rate-limits': redis.status }),
  };
}

/** A body express.json did not parse (not JSON) is absent: Apollo then answers a coded 400, not its 500 "req.body is not set". */
const bodyAlways: express.RequestHandler = (req, _res, next) => {
  if (!('body' in req)) (req as { body?: unknown }).body = undefined;
  next();
};

/**
 * The request limits (query-limits.ts) on the query's text (POST body or GET `query`), before
 * Apollo parses and validates it: a refusal answers 400 with every limit error, each coded.
 * Other malformed requests (batches, a missing query) are Apollo's to refuse.
 */
function enforceLimits(check: (query: string) => readonly GraphQLError[]): express.RequestHandler {
  return (req, res, next) => {
    const body = req.body as { query?: unknown } | undefined;
    const query = body && !Array.isArray(body) && typeof body.query === 'string' ? body.query
      : typeof req.query.query === 'string' ? req.query.query : undefined;
    const refused = query === undefined ? [] : check(query);
    if (!refused.length) return next();
    res.status(400).json({ errors: refused.map((e) => e.toJSON()) });
  };
}

/** Apollo would run a subscription sent over HTTP as a query: refuse it. */
const rejectHttpSubscriptions: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation }) {
        if (operation?.operation === 'subscription') {
          throw new GraphQLError('subscriptions are served over WebSocket (graphql-ws) at this URL', { extensions: { code: 'BAD_USER_INPUT' } });
        }
      },
    };
  },
};

function closeWebSockets(wsServer: { dispose(): void | Promise<void> }): ApolloServerPlugin<Context> {
  return {
    async serverWillStart() {
      return { async drainServer() { await wsServer.dispose(); } };
    },
  };
}


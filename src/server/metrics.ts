import { AsyncLocalStorage } from 'node:async_hooks';
import crypto from 'node:crypto';
import type { ApolloServerPlugin } from '@apollo/server';
import express, { type RequestHandler, type Router } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { JanitorReport } from '../services/janitor';

/** The request id of the request being served (logs carry it through the logger's mixin). */
export const requestContext = new AsyncLocalStorage<{ reqId: string }>();

/** Adds `reqId` to every log line written while a request is served. */
export function logMixin(): Record<string, unknown> {
  const ctx = requestContext.getStore();
  return ctx ? { reqId: ctx.reqId } : {};
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

/** prom-client's process metrics, collected once per process (several apps may share one in tests). */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'tessera_' });
  }
  return processRegistry;
}
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** What the metrics read on each scrape. */
export interface MetricsSources {
  ds: DataSource;
  /** ioredis connection states ("ready", "reconnecting", …) by connection name; empty without Redis. */
  redis: () => Record<string, string>;
}

/**
 * Prometheus metrics of one server process (prom-client, its own registry): GraphQL operations by
 * operation (type and root field, so the label set is bounded by the schema) and outcome (`ok` or
 * the first error's code) with latency histograms; HTTP requests by route group and status; bytes
 * and parts uploaded to and downloaded from the local store's blob routes; upload sessions by
 * state, DB pool connections and Redis connection state (read at scrape time); live subscriptions;
 * change-journal writes; janitor runs and results; and prom-client's process metrics.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly operations = new Counter({ name: 'tessera_graphql_operations_total', help: 'GraphQL operations by operation (type:rootField) and outcome (ok or an error code)', labelNames: ['operation', 'outcome'], registers: [this.registry] });
  private readonly operationSeconds = new Histogram({ name: 'tessera_graphql_operation_duration_seconds', help: 'GraphQL operation latency', labelNames: ['operation', 'outcome'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly http = new Counter({ name: 'tessera_http_requests_total', help: 'HTTP requests by route group and status code', labelNames: ['route', 'status'], registers: [this.registry] });
  private readonly httpSeconds = new Histogram({ name: 'tessera_http_request_duration_seconds', help: 'HTTP request latency by route group', labelNames: ['route'], buckets: LATENCY_BUCKETS, registers: [this.registry] });
  private readonly blobBytes = new Counter({ name: 'tessera_local_store_bytes_total', help: 'Bytes through the local store blob routes (direction: uploaded|downloaded)', labelNames: ['direction'], registers: [this.registry] });
  private readonly blobParts = new Counter({ name: 'tessera_local_store_parts_total', help: 'Parts uploaded (PUT) and objects or ranges downloaded (GET) through the local store blob routes', labelNames: ['direction'], registers: [this.registry] });
  readonly subscriptions = new Gauge({ name: 'tessera_live_subscriptions', help: 'GraphQL subscriptions open on this instance', registers: [this.registry] });
  private readonly journal = new Counter({ name: 'tessera_journal_changes_total', help: 'Changes written to the change journal (rate() gives the write rate)', registers: [this.registry] });
  private readonly janitorRuns = new Counter({ name: 'tessera_janitor_runs_total', help: 'Janitor runs by result (ok|error)', labelNames: ['result'], registers: [this.registry] });
  private readonly janitorItems = new Counter({ name: 'tessera_janitor_items_total', help: 'What the janitor cleaned (kind: expired_sessions|aborted_orphans)', labelNames: ['kind'], registers: [this.registry] });

  constructor(sources: MetricsSources) {
    const { ds } = sources;
    new Gauge({
      name: 'tessera_upload_sessions', help: 'Upload sessions by state', labelNames: ['state'], registers: [this.registry],
      async collect() {
        this.reset();
        const rows: Array<{ status: string; n: string | number }> = await ds.query('SELECT status, COUNT(*) AS n FROM upload_sessions GROUP BY status');
        for (const r of rows) this.set({ state: r.status }, Number(r.n));
      },
    });
    new Gauge({
      name: 'tessera_db_pool_connections', help: 'Database pool connections by state (MySQL/MariaDB: all|free|queued requests; SQLite: none)', labelNames: ['state'], registers: [this.registry],
      collect() {
        this.reset();
        const pool = (ds.driver as unknown as { pool?: { _allConnections?: { length: number }; _freeConnections?: { length: number }; _connectionQueue?: { length: number } } }).pool;
        if (!pool) return;
        this.set({ state: 'all' }, pool._allConnections?.length ?? 0);
        this.set({ state: 'free' }, pool._freeConnections?.length ?? 0);
        this.set({ state: 'queued' }, pool._connectionQueue?.length ?? 0);
      },
    });
    new Gauge({
      name: 'tessera_db_up', help: '1 if the database answered SELECT 1 at scrape time', registers: [this.registry],
      async collect() { this.set(await ds.query('SELECT 1').then(() => 1, () => 0)); },
    });
    new Gauge({
      name: 'tessera_redis_up', help: '1 per Redis connection that is ready, 0 otherwise (none without REDIS_URL)', labelNames: ['connection', 'status'], registers: [this.registry],
      collect() {
        this.reset();
        for (const [connection, status] of Object.entries(sources.redis())) this.set({ connection, status }, status === 'ready' ? 1 : 0);
      },
    });
  }

  /**
   * Gives every request an id (a sane `X-Request-Id` from the client, else a new UUID), returns it
   * in `X-Request-Id`, puts it in the logs (requestContext), and counts the request when it ends.
   */
  middleware(log: Logger): RequestHandler {
    return (req, res, next) => {
      const given = req.get('x-request-id');
      const reqId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
      res.setHeader('X-Request-Id', reqId);
      const started = process.hrtime.bigint();
      const route = routeGroup(req.path); // now: routers mounted on a prefix rewrite req.url while they run
      res.on('finish', () => {
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        this.http.inc({ route, status: String(res.statusCode) });
        this.httpSeconds.observe({ route }, seconds);
        requestContext.run({ reqId }, () => log.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request'));
        if (route !== 'blobs' || res.statusCode >= 300) return;
        if (req.method === 'PUT') {
          this.blobBytes.inc({ direction: 'uploaded' }, Number(req.get('content-length') ?? 0));
          this.blobParts.inc({ direction: 'uploaded' });
        } else if (req.method === 'GET') {
          this.blobBytes.inc({ direction: 'downloaded' }, Number(res.getHeader('content-length') ?? 0));
          this.blobParts.inc({ direction: 'downloaded' });
        }
      });
      requestContext.run({ reqId }, next);
    };
  }

  /** Counts and times each GraphQL operation over HTTP. */
  apolloPlugin(): ApolloServerPlugin {
    const metrics = this;
    return {
      async requestDidStart() {
        const started = process.hrtime.bigint();
        return {
          async willSendResponse({ operation, errors, response }) {
            const root = operation?.selectionSet.selections.find((s) => s.kind === 'Field');
            const name = `${operation?.operation ?? 'invalid'}:${root && root.kind === 'Field' ? root.name.value : 'none'}`;
            const body = response.body.kind === 'single' ? response.body.singleResult : undefined;
            const first = body?.errors?.[0] ?? errors?.[0]; // the formatted error carries the code
            const code = first?.extensions?.code;
            const outcome = first ? (typeof code === 'string' ? code : 'ERROR') : 'ok';
            metrics.operations.inc({ operation: name, outcome });
            metrics.operationSeconds.observe({ operation: name, outcome }, Number(process.hrtime.bigint() - started) / 1e9);
          },
        };
      },
    };
  }

  journalWritten = (count: number): void => { this.journal.inc(count); };

  /** Records a janitor run (its report, or that it failed). */
  janitorRan(report: JanitorReport | null): void {
    this.janitorRuns.inc({ result: report ? 'ok' : 'error' });
    if (!report) return;
    this.janitorItems.inc({ kind: 'expired_sessions' }, report.expiredSessions);
    this.janitorItems.inc({ kind: 'aborted_orphans' }, report.abortedOrphans);
  }

  /** `GET /metrics` in Prometheus' text format; with `token` set, only with `Authorization: Bearer <token>` (else 401). */
  router(token?: string): Router {
    const router = express.Router();
    router.get('/metrics', async (req, res) => {
      if (token) {
        const given = /^Bearer\s+(.+)$/i.exec(req.get('authorization') ?? '')?.[1] ?? '';
        const ok = given.length === token.length && crypto.timingSafeEqual(Buffer.from(given), Buffer.from(token));
        if (!ok) {
          res.setHeader('WWW-Authenticate', 'Bearer');
          res.status(401).json({ code: 'UNAUTHENTICATED', message: 'metrics need Authorization: Bearer <METRICS_TOKEN>' });
          return;
        }
      }
      res.setHeader('Cache-Control', 'no-store');
      res.type(this.registry.contentType).send(`${await processMetrics().metrics()}\n${await this.registry.metrics()}`);
    });
    return router;
  }
}

/** A bounded route label: the first path segment of the known routes. */
function routeGroup(path: string): string {
  const first = path.split('/')[1] ?? '';
  return ['graphql', 'blobs', 's', 'healthz', 'readyz', 'metrics', 'graphiql'].includes(first) ? first : 'other';
}

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import type { StorageConfig } from '../storage/registry';
import { noteEncryptionStart } from '../storage/local/upgrade';

/** Everything the server reads from its environment, validated once at start-up. */
export interface Config {
  port: number;
  host: string;
  dataDir: string;
  /** `sqlite:<file>` by default, or a mysql:// / mariadb:// URL. */
  databaseUrl: string;
  redisUrl?: string;
  jwtSecret: string;
  signingSecret: string;
  storage: StorageConfig;
  /** Lifetime of presigned part URLs, seconds. */
  partUrlTtl: number;
  /** Default lifetime of signed download URLs, seconds (DOWNLOAD_URL_TTL, at most downloadUrlMaxTtl). */
  downloadUrlTtl: number;
  /**
   * Longest lifetime of a signed download URL, seconds (DOWNLOAD_URL_MAX_TTL, default 1 hour, at
   * most 7 days, S3's and GCS's own limit): a larger `expiresIn` is clamped to it. On S3/GCS it is
   * how long a URL can outlive a revoked access; the local store checks access on every request.
   */
  downloadUrlMaxTtl: number;
  /** Abandoned upload sessions expire after this many seconds. */
  sessionTtl: number;
  /** Smallest part size the upload plan hands out. */
  minPartSize: number;
  /** Largest file accepted, bytes. */
  maxFileSize: number;
  logLevel: string;
  introspection: boolean;
  /** Live change feeds poll the journal at least this often, ms (LIVE_POLL_MS). */
  livePollMs: number;
  /** Journal entries older than this are pruned; older cursors get RESET (JOURNAL_RETENTION_DAYS). */
  journalRetentionDays: number;
  /** Trashed files are purged after this many days (TRASH_RETENTION_DAYS). */
  trashRetentionDays: number;
  /** Earlier revisions of a file are kept this many days after a newer one replaced them (REVISION_RETENTION_DAYS). */
  revisionRetentionDays: number;
  /** Storage quota of users without their own (DEFAULT_QUOTA_BYTES, default 1 TiB). */
  defaultQuotaBytes: number;
  /** Wrong passwords per (email, IP) for signIn and per (link, IP) for public links, per window. */
  signInMaxFailures: number;
  linkPasswordMaxFailures: number;
  rateLimitWindowSeconds: number;
  /** GraphQL limits: selection depth and estimated cost (lists multiply by `first`). */
  maxQueryDepth: number;
  maxQueryComplexity: number;
  /** More GraphQL limits per operation: aliases, directives, mutations (root fields), tokens per document. */
  maxQueryAliases: number;
  maxQueryDirectives: number;
  maxMutationsPerRequest: number;
  maxQueryTokens: number;
  /** Largest HTTP request body and graphql-ws message, bytes (MAX_REQUEST_BYTES). */
  maxRequestBytes: number;
  /** A WebSocket must send connection_init within this many ms (WS_INIT_TIMEOUT_MS). */
  wsInitTimeoutMs: number;
  /** A WebSocket without a valid token is closed (4401) this many ms after connection_init (WS_ANONYMOUS_MS). */
  wsAnonymousMs: number;
  /** Open WebSockets per user on one instance; more are closed with 4429 (WS_MAX_CONNECTIONS_PER_USER). */
  wsMaxConnectionsPerUser: number;
  /** signUp attempts per client address per RATE_LIMIT_WINDOW (SIGNUP_MAX_PER_WINDOW). */
  signUpMaxPerWindow: number;
  /** Express's `trust proxy` (TRUST_PROXY): which proxies' X-Forwarded-For names the client address. */
  trustProxy: boolean | number | string;
  /**
   * The server's public address (PUBLIC_URL, e.g. https://files.example.com, no trailing slash):
   * the base of absolute public-link URLs. Unset: derived from each request's Host (and protocol).
   */
  publicUrl?: string;
  /** METRICS_TOKEN: when set, GET /metrics needs `Authorization: Bearer <token>`; unset, it is open. */
  metricsToken?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

/** Reads and validates the configuration; throws ConfigError listing every bad setting. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      problems.push(`${name} must be an integer between ${min} and ${max} (got ${JSON.stringify(raw)})`);
      return fallback;
    }
    return n;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`${name} must be true or false (got ${JSON.stringify(raw)})`);
    return fallback;
  };
  const required = (name: string): string => {
    const v = env[name];
    if (!v) problems.push(`${name} is required for STORAGE=${env.STORAGE}`);
    return v ?? '';
  };

  const dataDir = path.resolve(overrides.dataDir ?? env.DATA_DIR ?? './data');
  const port = int('PORT', 4000, 0, 65535);
  const databaseUrl = env.DATABASE_URL || `sqlite:${path.join(dataDir, 'tessera.sqlite')}`;
  if (!/^(sqlite:|mysql:\/\/|mariadb:\/\/)/.test(databaseUrl)) {
    problems.push(`DATABASE_URL must start with mysql://, mariadb:// or sqlite: (got ${JSON.stringify(databaseUrl)})`);
  }
  if (env.REDIS_URL && !/^rediss?:\/\//.test(env.REDIS_URL)) {
    problems.push(`REDIS_URL must be a redis:// URL (got ${JSON.stringify(env.REDIS_URL)})`);
  }

  const kind = env.STORAGE || 'local';
  let storage: StorageConfig;
  const signingSecret = env.SIGNING_SECRET || persistentSecret(dataDir, 'signing-secret');
  if (kind === 'local') {
    // off: new objects are plaintext; keys there are (ENCRYPTION_KEY, or a key file from before) still read the encrypted ones
    const keysExist = Boolean(env.ENCRYPTION_KEY) || fs.existsSync(path.join(dataDir, ENCRYPTION_KEY_FILE));
    const root = path.resolve(env.LOCAL_STORAGE_DIR || path.join(dataDir, 'blobs'));
    const on = bool('LOCAL_ENCRYPTION', true);
    // a store that held objects when encryption was first turned on keeps serving them until they are encrypted (./upgrade)
    const upgraded = noteEncryptionStart(root, on);
    const encryption = on
      ? { keys: masterKeys(env, dataDir, problems), allowPlaintext: bool('LOCAL_ENCRYPTION_ALLOW_PLAINTEXT', upgraded) }
      : keysExist
        ? { keys: masterKeys(env, dataDir, problems), write: false }
        : undefined;
    storage = { kind: 'local', local: { root, signingSecret, encryption } };
  } else if (kind === 's3') {
    storage = {
      kind: 's3',
      s3: {
        endpoint: env.S3_ENDPOINT || undefined,
        bucket: required('S3_BUCKET'),
        region: env.S3_REGION || 'us-east-1',
        accessKeyId: env.S3_ACCESS_KEY || undefined,
        secretAccessKey: env.S3_SECRET_KEY || undefined,
        forcePathStyle: bool('S3_FORCE_PATH_STYLE', Boolean(env.S3_ENDPOINT)),
        prefix: env.S3_PREFIX || undefined,
        sse: s3Sse(env, problems),
        partChecksum: s3PartChecksum(env, problems),
      },
    };
  } else if (kind === 'gcs') {
    storage = {
      kind: 'gcs',
      gcs: {
        bucket: required('GCS_BUCKET'),
        projectId: env.GCS_PROJECT || undefined,
        keyFilename: env.GOOGLE_APPLICATION_CREDENTIALS || undefined,
        apiEndpoint: env.GCS_ENDPOINT || undefined,
        prefix: env.GCS_PREFIX || undefined,
        kmsKeyName: env.GCS_KMS_KEY || undefined,
      },
    };
  } else {
    problems.push(`STORAGE must be local, s3 or gcs (got ${JSON.stringify(kind)})`);
    storage = { kind: 'local', local: { root: path.join(dataDir, 'blobs'), signingSecret } };
  }

  const config: Config = {
    port,
    host: env.HOST || '0.0.0.0',
    dataDir,
    databaseUrl,
    redisUrl: env.REDIS_URL || undefined,
    jwtSecret: env.JWT_SECRET || persistentSecret(dataDir, 'jwt-secret'),
    signingSecret,
    storage,
    partUrlTtl: int('PART_URL_TTL', 3600, 1, 7 * 24 * 3600),
    downloadUrlTtl: int('DOWNLOAD_URL_TTL', 300, 1, 7 * 24 * 3600),
    downloadUrlMaxTtl: int('DOWNLOAD_URL_MAX_TTL', 3600, 1, 7 * 24 * 3600),
    sessionTtl: int('UPLOAD_SESSION_TTL', 7 * 24 * 3600, 60),
    minPartSize: int('MIN_PART_SIZE', 8 * MiB, 1),
    maxFileSize: int('MAX_FILE_SIZE', 50 * GiB, 0),
    logLevel: env.LOG_LEVEL || 'info',
    introspection: bool('GRAPHQL_INTROSPECTION', true),
    livePollMs: int('LIVE_POLL_MS', 30_000, 50, 3_600_000),
    journalRetentionDays: int('JOURNAL_RETENTION_DAYS', 180, 1),
    trashRetentionDays: int('TRASH_RETENTION_DAYS', 30, 1),
    revisionRetentionDays: int('REVISION_RETENTION_DAYS', 30, 1),
    defaultQuotaBytes: int('DEFAULT_QUOTA_BYTES', 1024 * GiB, 0),
    signInMaxFailures: int('SIGNIN_MAX_FAILURES', 10, 1),
    linkPasswordMaxFailures: int('LINK_PASSWORD_MAX_FAILURES', 5, 1),
    rateLimitWindowSeconds: int('RATE_LIMIT_WINDOW', 900, 1),
    maxQueryDepth: int('GRAPHQL_MAX_DEPTH', 12, 1),
    maxQueryComplexity: int('GRAPHQL_MAX_COMPLEXITY', 250_000, 1),
    maxQueryAliases: int('GRAPHQL_MAX_ALIASES', 15, 0),
    maxQueryDirectives: int('GRAPHQL_MAX_DIRECTIVES', 50, 0),
    maxMutationsPerRequest: int('GRAPHQL_MAX_MUTATIONS', 10, 1),
    maxQueryTokens: int('GRAPHQL_MAX_TOKENS', 1000, 100),
    maxRequestBytes: int('MAX_REQUEST_BYTES', 10 * MiB, 1024),
    wsInitTimeoutMs: int('WS_INIT_TIMEOUT_MS', 3000, 100),
    wsAnonymousMs: int('WS_ANONYMOUS_MS', 5000, 100),
    wsMaxConnectionsPerUser: int('WS_MAX_CONNECTIONS_PER_USER', 20, 1),
    signUpMaxPerWindow: int('SIGNUP_MAX_PER_WINDOW', 20, 1),
    trustProxy: trustProxy(env.TRUST_PROXY),
    publicUrl: publicUrl(env.PUBLIC_URL, problems),
    metricsToken: env.METRICS_TOKEN || undefined,
    ...overrides,
  };
  if (config.downloadUrlTtl > config.downloadUrlMaxTtl) {
    problems.push(`DOWNLOAD_URL_TTL (${config.downloadUrlTtl}) must not exceed DOWNLOAD_URL_MAX_TTL (${config.downloadUrlMaxTtl})`);
  }
  if (problems.length) throw new ConfigError(problems);
  return config;
}

/** S3_PART_CHECKSUM (SHA256 | MD5, default SHA256): how part URLs bind the bytes (S3Options.partChecksum). */
function s3PartChecksum(env: NodeJS.ProcessEnv, problems: string[]): 'SHA256' | 'MD5' {
  const v = env.S3_PART_CHECKSUM || 'SHA256';
  if (v === 'SHA256' || v === 'MD5') return v;
  problems.push(`S3_PART_CHECKSUM must be SHA256 or MD5 (got ${JSON.stringify(v)})`);
  return 'SHA256';
}

/** S3_SSE (AES256 | aws:kms) and S3_SSE_KMS_KEY_ID: server-side encryption asked of S3 on every object. */
function s3Sse(env: NodeJS.ProcessEnv, problems: string[]): { algorithm: 'AES256' | 'aws:kms'; kmsKeyId?: string } | undefined {
  const algorithm = env.S3_SSE;
  const kmsKeyId = env.S3_SSE_KMS_KEY_ID || undefined;
  if (!algorithm) {
    if (kmsKeyId) problems.push('S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms');
    return undefined;
  }
  if (algorithm !== 'AES256' && algorithm !== 'aws:kms') {
    problems.push(`S3_SSE must be AES256 or aws:kms (got ${JSON.stringify(algorithm)})`);
    return undefined;
  }
  if (kmsKeyId && algorithm !== 'aws:kms') problems.push('S3_SSE_KMS_KEY_ID needs S3_SSE=aws:kms');
  return { algorithm, kmsKeyId };
}

/**
 * The local store's master keys, current first: ENCRYPTION_KEY (comma-separated, each 32
 * bytes as 64 hex digits or base64), else the file <DATA_DIR>/encryption-keys (one key a line,
 * hex), created with one random key on first use (mode 0600).
 */
export function masterKeys(env: NodeJS.ProcessEnv, dataDir: string, problems: string[] = []): Buffer[] {
  const raw = env.ENCRYPTION_KEY;
  if (raw) {
    const keys = raw.split(',').map((k) => k.trim()).filter(Boolean).map(parseKey);
    if (keys.some((k) => k === null)) {
      problems.push('ENCRYPTION_KEY must be comma-separated keys of 32 bytes each (64 hex digits or base64)');
      return [crypto.randomBytes(32)];
    }
    return keys as Buffer[];
  }
  const text = persistentSecret(dataDir, ENCRYPTION_KEY_FILE);
  const keys = text.split(/\s+/).filter(Boolean).map(parseKey);
  if (keys.length === 0 || keys.some((k) => k === null)) {
    problems.push(`${path.join(dataDir, ENCRYPTION_KEY_FILE)} must hold keys of 64 hex digits, one a line`);
    return [crypto.randomBytes(32)];
  }
  return keys as Buffer[];
}

/** Where a generated master key is kept (under DATA_DIR), the current key on the first line. */
export const ENCRYPTION_KEY_FILE = 'encryption-keys';

function parseKey(text: string): Buffer | null {
  if (/^[0-9a-f]{64}$/i.test(text)) return Buffer.from(text, 'hex');
  const b = /^[A-Za-z0-9+/_-]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : null;
  return b && b.length === 32 ? b : null;
}

/** PUBLIC_URL: an http(s) URL without query or fragment; its trailing slashes are dropped. */
function publicUrl(raw: string | undefined, problems: string[]): string | undefined {
  if (!raw) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    // reported below
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash) {
    problems.push(`PUBLIC_URL must be an http:// or https:// URL without query or fragment (got ${JSON.stringify(raw)})`);
    return undefined;
  }
  return raw.replace(/\/+$/, '');
}

/** TRUST_PROXY: unset/false (the socket's address), true, a hop count, or Express's address list ("loopback, 10.0.0.0/8"). */
function trustProxy(raw: string | undefined): boolean | number | string {
  if (!raw || /^(0|false|no|off)$/i.test(raw)) return false;
  if (/^(true|yes|on)$/i.test(raw)) return true;
  return /^\d+$/.test(raw) ? Number(raw) : raw;
}

/** A random secret generated once and kept under the data directory (mode 0600); concurrent first starts agree on one. */
function persistentSecret(dataDir: string, name: string): string {
  const file = path.join(dataDir, name);
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(dataDir, { recursive: true });
    const secret = crypto.randomBytes(32).toString('hex');
    // written whole under another name, then linked into place: a concurrent reader never sees it half-written
    const tmp = `${file}.${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    const fd = fs.openSync(tmp, 'wx', 0o600);
    try {
      fs.writeSync(fd, secret);
      fs.fsyncSync(fd); // durable before anything is encrypted with it
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
      const dir = fs.openSync(dataDir, 'r');
      try {
        fs.fsyncSync(dir);
      } finally {
        fs.closeSync(dir);
      }
      return secret;
    } catch {
      return fs.readFileSync(file, 'utf8').trim();
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
}

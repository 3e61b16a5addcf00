/**
 * Ranged GETs of plain-http URLs over our own keep-alive TCP sockets (`net.Socket` `onread`):
 * once the caller has said its batch size, the socket reads straight into the free end of the
 * current batch buffer (no copy in JavaScript: the kernel's copy out of the socket is the only
 * one); the response head, and body bytes that came with it, go through one reused buffer per
 * socket. No buffer per network chunk, no HTTP parser events, no stream machinery.
 * Reading in place saved the main thread a 1 GiB memcpy per GiB (0.5-0.8 s of CPU in a
 * `--cpu-prof` of a 1 GiB download on the 2-core bench machine, docs/benchmarks.md).
 * Receiving 1 GiB in 8 MiB ranges this way took ~0.05 s of user CPU against ~0.8 s through
 * node:http on the bench machine, and a whole verified 1 GiB download ~1.9 s instead of ~2.7 s
 * (docs/benchmarks.md): CPU the client needs for hashing, on machines it shares with the store.
 *
 * Only what a part download needs: a response with Content-Length (as S3, RGW, MinIO and the
 * local store send for ranges). Anything else (no length, chunked, a 1xx) is `UnsupportedResponse`
 * before any body byte is handed out, and the caller falls back to node:http. Network failures
 * reject with a TypeError (see `isNetworkFailure`), an abort with the signal's reason.
 */
import net from 'node:net';
import { takeBuffer } from './buffer-pool';
import type { PartResponse } from './part-http';

const READ_BUFFER = 256 * 1024;
const MAX_HEAD = 64 * 1024;
const IDLE_MS = 10_000;
/** Full batches held for a slow reader before the socket is paused. */
const QUEUED_BATCHES = 1;

/** The response is not one this reader handles; nothing of its body was consumed. */
export class UnsupportedResponse extends Error {}

/** Bytes the body readers took in place (read by the socket into a batch) and by copying (head reads, early bytes). For tests and benchmarks. */
export const readStats = { inPlaceBytes: 0, copiedBytes: 0 };

interface Conn {
  socket: net.Socket;
  key: string;
  /** Receives every byte read while a request owns the connection; `inPlace`: read into the buffer `target` gave. */
  onData: ((data: Buffer, inPlace: boolean) => boolean) | null;
  /** Where the socket's next read should land (a batch's free end), or null for the socket's own buffer. */
  target: (() => Buffer | null) | null;
  onGone: ((err: Error) => void) | null;
  idleTimer: NodeJS.Timeout | null;
}

const idle = new Map<string, Conn[]>();

function open(host: string, port: number, key: string): Conn {
  const conn: Conn = { socket: null as unknown as net.Socket, key, onData: null, target: null, onGone: null, idleTimer: null };
  const own = Buffer.allocUnsafe(READ_BUFFER);
  conn.socket = net.connect({
    host, port,
    onread: {
      // called after every read for the buffer of the next one
      buffer: () => conn.target?.() ?? own,
      callback: (n, buf) => (conn.onData ? conn.onData((buf as Buffer).subarray(0, n), buf !== own) : (conn.socket.destroy(), false)),
    },
  });
  conn.socket.setNoDelay(true);
  const gone = (err: Error) => {
    forget(conn);
    const f = conn.onGone;
    conn.onGone = conn.onData = null;
    f?.(err);
  };
  conn.socket.on('error', gone);
  conn.socket.on('close', () => gone(new Error('connection closed')));
  conn.socket.on('end', () => conn.socket.destroy());
  return conn;
}

function forget(conn: Conn): void {
  if (conn.idleTimer) clearTimeout(conn.idleTimer);
  conn.idleTimer = null;
  const list = idle.get(conn.key);
  const i = list?.indexOf(conn) ?? -1;
  if (i >= 0) list!.splice(i, 1);
}

function acquire(url: URL): Conn {
  const port = Number(url.port || 80);
  const key = `${url.hostname}:${port}`;
  const conn = idle.get(key)?.pop();
  if (conn) {
    forget(conn);
    conn.socket.ref();
    return conn;
  }
  return open(url.hostname, port, key);
}

function release(conn: Conn): void {
  conn.onData = null;
  conn.target = null;
  conn.onGone = null;
  conn.socket.unref();
  const list = idle.get(conn.key) ?? [];
  list.push(conn);
  idle.set(conn.key, list);
  conn.idleTimer = setTimeout(() => conn.socket.destroy(), IDLE_MS).unref();
}

/**
 * GETs `bytes=offset..offset+length-1` of a plain-http `url`; see the file comment for what it
 * rejects with. While it waits for bytes (not while its reader holds the socket paused), a
 * connection silent for `idleMs` fails as a network failure.
 */
export function rawRangeGet(url: URL, offset: number, length: number, signal: AbortSignal, idleMs = 60_000): Promise<PartResponse> {
  signal.throwIfAborted();
  const conn = acquire(url);
  return new Promise<PartResponse>((resolve, reject) => {
    let head: Buffer | null = Buffer.alloc(0);
    let body: BodyReader | null = null;
    let timer: NodeJS.Timeout | null = null;
    const watch = {
      quiet: () => {
        if (timer) clearTimeout(timer);
        timer = null;
      },
      kick: () => {
        watch.quiet();
        timer = setTimeout(() => fail(new TypeError(`network failure: no data for ${idleMs} ms`)), idleMs);
      },
    };
    const fail = (err: unknown) => {
      watch.quiet();
      conn.target = null;
      signal.removeEventListener('abort', onAbort);
      conn.socket.destroy();
      if (body) body.fail(err);
      else reject(err);
    };
    const onAbort = () => fail(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    conn.onGone = (err) => fail(new TypeError(`network failure: ${err.message}`, { cause: err }));
    watch.kick();
    conn.onData = (data, inPlace) => {
      watch.kick();
      if (body) return body.push(data, inPlace);
      head = Buffer.concat([head!, data]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_HEAD) fail(new TypeError('network failure: response headers too long'));
        return true;
      }
      const parsed = parseHead(head.subarray(0, end).toString('latin1'));
      const rest = head.subarray(end + 4);
      head = null;
      if (!parsed) return fail(new UnsupportedResponse('response without Content-Length')), false;
      body = new BodyReader(conn, parsed.length, parsed.keepAlive, () => {
        watch.quiet();
        signal.removeEventListener('abort', onAbort);
      }, watch);
      resolve({
        status: parsed.status,
        header: (n) => parsed.headers.get(n) ?? null,
        body: body.chunks(),
        text: async () => Buffer.concat(await collect(body!.batches(64 * 1024))).toString('utf8'),
        batches: (bytes) => body!.batches(bytes),
      });
      return rest.length ? body.push(rest) : true;
    };
    const target = `${url.pathname}${url.search}`;
    conn.socket.write(`GET ${target} HTTP/1.1\r\nHost: ${url.host}\r\nRange: bytes=${offset}-${offset + length - 1}\r\nUser-Agent: tessera-sdk\r\nConnection: keep-alive\r\n\r\n`);
  });
}

function parseHead(text: string): { status: number; length: number; keepAlive: boolean; headers: Map<string, string> } | null {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]);
  if (!m) return null;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) {
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
    }
  }
  const status = Number(m[1]);
  const length = Number(headers.get('content-length'));
  if (status < 200 || !Number.isSafeInteger(length) || length < 0 || headers.has('transfer-encoding')) return null;
  const keepAlive = !/\bclose\b/i.test(headers.get('connection') ?? '') && lines[0].startsWith('HTTP/1.1');
  return { status, length, keepAlive, headers };
}

/** The body as it arrives, copied into batch buffers; the socket pauses while a full batch waits. */
class BodyReader {
  private left: number;
  private size = 0;
  private current: Buffer | null = null;
  private filled = 0;
  private readonly ready: Buffer[] = [];
  /** Bytes that came before the reader said its batch size (copies: the read buffer is reused). */
  private early: Buffer[] | null = [];
  private failure: unknown = null;
  private wake: (() => void) | null = null;
  private paused = false;
  private complete = false;

  constructor(
    private readonly conn: Conn, length: number, private readonly keepAlive: boolean, private readonly done: () => void,
    /** The idle watchdog: quiet while the socket is paused for the reader, kicked when it resumes. */
    private readonly watch: { quiet(): void; kick(): void },
  ) {
    this.left = length;
    if (length === 0) this.finish();
  }

  /**
   * Takes bytes from the socket; false pauses it. `inPlace`: the socket read them into the
   * buffer `target()` gave (the current batch's free end), so they are only counted.
   */
  push(data: Buffer, inPlace = false): boolean {
    if (this.early) {
      this.early.push(Buffer.from(data));
      return true;
    }
    if (data.length > this.left) {
      this.fail(new TypeError('network failure: the server sent more than Content-Length'));
      return false;
    }
    if (inPlace) readStats.inPlaceBytes += data.length;
    else readStats.copiedBytes += data.length;
    let at = inPlace ? data.length : 0;
    if (inPlace) {
      this.filled += data.length;
      this.left -= data.length;
      if (this.filled === this.current!.length) this.emit();
    }
    while (at < data.length) {
      this.current ??= takeBuffer(Math.min(this.size, this.left + this.filled));
      const n = Math.min(data.length - at, this.current.length - this.filled);
      this.current.set(data.subarray(at, at + n), this.filled);
      at += n;
      this.filled += n;
      this.left -= n;
      if (this.filled === this.current.length) this.emit();
    }
    if (this.left === 0) this.finish();
    this.notify();
    this.paused = this.ready.length > QUEUED_BATCHES && this.left > 0;
    if (this.paused) this.watch.quiet();
    return !this.paused;
  }

  fail(err: unknown): void {
    this.failure ??= err;
    this.conn.target = null;
    this.notify();
  }

  /**
   * The free end of the current batch (taken from the pool when there is none), at most the
   * bytes still expected, for the socket's next read; null before the batch size is known and
   * once the body is complete or failed.
   */
  target(): Buffer | null {
    if (this.early || this.complete || this.failure || this.left === 0) return null;
    this.current ??= takeBuffer(Math.min(this.size, this.left + this.filled));
    return this.current.subarray(this.filled, this.filled + Math.min(this.current.length - this.filled, this.left));
  }

  /** The body in batches of `bytes` (one buffer each, the last shorter); readable once. */
  async *batches(bytes: number): AsyncGenerator<Uint8Array[]> {
    if (!this.early) throw new Error('the body was already read');
    this.size = bytes;
    const early = this.early;
    this.early = null;
    this.conn.target = () => this.target();
    for (const data of early) if (!this.push(data) && this.failure) break;
    if (this.paused) {
      this.conn.socket.pause();
      this.watch.quiet();
    }
    try {
      for (;;) {
        if (this.ready.length) {
          const out = this.ready.shift()!;
          if (this.paused && this.ready.length <= QUEUED_BATCHES) {
            this.paused = false;
            this.conn.socket.resume();
            if (!this.complete && !this.failure) this.watch.kick();
          }
          yield [out];
          continue;
        }
        if (this.complete) return;
        if (this.failure) throw this.failure;
        await new Promise<void>((r) => (this.wake = r));
      }
    } finally {
      if (!this.complete) this.conn.socket.destroy(); // the reader gave up mid-body
    }
  }

  async *chunks(): AsyncGenerator<Uint8Array> {
    for await (const batch of this.batches(64 * 1024)) yield* batch;
  }

  private emit(): void {
    this.ready.push(this.filled === this.current!.length ? this.current! : this.current!.subarray(0, this.filled));
    this.current = null;
    this.filled = 0;
  }

  private finish(): void {
    if (this.current && this.filled) this.emit();
    this.current = null;
    this.complete = true;
    this.conn.target = null;
    this.done();
    if (this.keepAlive) {
      release(this.conn);
    } else {
      this.conn.onData = this.conn.onGone = null;
      this.conn.socket.end();
    }
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}

async function collect(it: AsyncIterable<Uint8Array[]>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const b of it) out.push(...b);
  return out;
}

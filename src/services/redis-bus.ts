import Redis from 'ioredis';
import type { Logger } from 'pino';
import type { BusEvent, EventBus } from './events';
import { LocalEventBus } from './events';

const CHANNEL = 'tessera:events';

/**
 * Fans events out through Redis pub/sub so a subscriber on one API instance hears a change
 * committed through another. Losing Redis loses only wake-ups: subscribers poll the journal, and
 * when Redis returns every local subscriber is woken (`resync`) to catch up from the journal.
 */
export class RedisEventBus implements EventBus {
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly local = new LocalEventBus();

  constructor(url: string, private readonly log: Logger) {
    const opts = { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false };
    this.pub = new Redis(url, opts);
    this.sub = new Redis(url, { ...opts, enableOfflineQueue: true });
    for (const c of [this.pub, this.sub]) c.on('error', (err) => this.log.warn({ err: err.message }, 'redis'));
    // ioredis reconnects on its own; after a reconnect, make sure we listen again and wake every
    // reader: events published while Redis was away are lost, the journal still has the changes
    let connected = false;
    this.sub.on('ready', () => {
      const again = connected;
      connected = true;
      this.sub.subscribe(CHANNEL)
        .then(() => { if (again) { this.log.info('redis back: resyncing live feeds'); void this.local.publish({ type: 'resync' }); } })
        .catch((err) => this.log.warn({ err: err.message }, 'redis subscribe failed'));
    });
    this.sub.on('message', (_channel, message) => {
      try {
        void this.local.publish(JSON.parse(message) as BusEvent);
      } catch { /* ignore malformed */ }
    });
  }

  async publish(event: BusEvent): Promise<void> {
    try {
      await this.pub.publish(CHANNEL, JSON.stringify(event));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'redis publish failed; delivering locally');
      await this.local.publish(event);
    }
  }

  subscribe(listener: (event: BusEvent) => void): () => void {
    return this.local.subscribe(listener);
  }

  redisStatus(): Record<string, string> {
    return { 'bus-publish': this.pub.status, 'bus-subscribe': this.sub.status };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.pub.quit(), this.sub.quit()]);
    await this.local.close();
  }
}

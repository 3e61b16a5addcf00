import type { Context as WsContext } from 'graphql-ws';
import type { WebSocket } from 'ws';
import type { Services } from '../services';

export interface WebSocketLimits {
  /** A connection whose connection_init carried no valid token is closed this long after it (4401). */
  anonymousMs: number;
  /** Open connections per user in this process; the next one is closed at connection_init (4429). */
  maxPerUser: number;
}

/** Close codes a client sees (graphql-ws reserves 4400-4499 for such refusals). */
export const WS_CLOSE = { UNAUTHORIZED: 4401, TOO_MANY_CONNECTIONS: 4429 } as const;

type Extra = { socket: WebSocket; userId?: string; anonymousTimer?: NodeJS.Timeout };

/**
 * graphql-ws `onConnect`/`onClose` hooks enforcing `limits`. A socket must send connection_init
 * within graphql-ws's `connectionInitWaitTimeout` (4408 otherwise); its `authorization`
 * connection parameter is checked then. Without a valid token the connection is accepted (each
 * operation then answers UNAUTHENTICATED, as over HTTP) but closed with 4401 after
 * `anonymousMs`; with one, it counts against the user's `maxPerUser` open connections. Operations
 * authenticate on their own as before (a device revoked later is refused per operation).
 */
export function trackWebSockets(services: Services, limits: WebSocketLimits) {
  const open = new Map<string, Set<WebSocket>>();
  return {
    onConnect: async (ctx: WsContext<Record<string, unknown>>): Promise<boolean> => {
      const extra = ctx.extra as Extra;
      const header = String(ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization ?? '');
      const m = /^Bearer\s+(.+)$/i.exec(header.trim());
      const principal = m ? await services.auth.authenticate(m[1]) : null;
      if (extra.socket.readyState !== extra.socket.OPEN) return false; // closed meanwhile: onClose has run
      if (!principal) {
        extra.anonymousTimer = setTimeout(() => extra.socket.close(WS_CLOSE.UNAUTHORIZED, 'Unauthorized: connection without a valid token'), limits.anonymousMs);
        extra.anonymousTimer.unref();
        return true;
      }
      const mine = open.get(principal.userId) ?? new Set<WebSocket>();
      if (mine.size >= limits.maxPerUser) {
        extra.socket.close(WS_CLOSE.TOO_MANY_CONNECTIONS, `Too many connections: at most ${limits.maxPerUser} per user`);
        return false;
      }
      mine.add(extra.socket);
      open.set(principal.userId, mine);
      extra.userId = principal.userId;
      return true;
    },
    onClose: (ctx: WsContext<Record<string, unknown>>): void => {
      const extra = ctx.extra as Extra;
      if (extra.anonymousTimer) clearTimeout(extra.anonymousTimer);
      if (!extra.userId) return;
      const mine = open.get(extra.userId);
      mine?.delete(extra.socket);
      if (mine?.size === 0) open.delete(extra.userId);
    },
  };
}

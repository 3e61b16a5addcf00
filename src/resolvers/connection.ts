import type { Page } from '../services/files';

/** A service page as a Relay connection. */
export function toConnection<T>(page: Page<T>) {
  return { edges: page.items, pageInfo: { hasNextPage: page.hasNextPage, endCursor: page.endCursor } };
}

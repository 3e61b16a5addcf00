/** Set-wise SQL for the batch paths: what TypeORM would write, in fewer and cheaper statements. */
import type { EntityManager } from 'typeorm';

/**
 * Multi-row INSERTs of complete rows (ids and dates set by the caller), 200 a statement, in plain
 * SQL: each value as TypeORM persists it (`driver.preparePersistentValue`: dates, booleans,
 * transformers), an unset column its default (or NULL), as the query builder writes them, without
 * its per-parameter rewriting of the SQL (a third of a millisecond per file) nor its re-reads.
 */
export async function insertRows<T extends object>(m: EntityManager, entity: new () => T, rows: T[]): Promise<void> {
  if (!rows.length) return;
  const meta = m.connection.getMetadata(entity);
  const driver = m.connection.driver;
  const columns = meta.columns.filter((c) => c.isInsert && !c.isVirtual);
  const head = `INSERT INTO ${driver.escape(meta.tableName)} (${columns.map((c) => driver.escape(c.databaseName)).join(', ')}) VALUES `;
  for (let i = 0; i < rows.length; i += 200) {
    const slice = rows.slice(i, i + 200);
    const params: unknown[] = [];
    const tuples = slice.map((row) => `(${columns.map((c) => {
      const value = c.getEntityValue(row);
      if (value === undefined) return c.default === undefined || c.default === null ? 'NULL' : driver.normalizeDefault(c);
      params.push(driver.preparePersistentValue(value, c));
      return '?';
    }).join(', ')})`);
    await m.query(head + tuples.join(', '), params);
  }
}

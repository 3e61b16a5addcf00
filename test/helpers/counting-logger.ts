import type { Logger } from 'typeorm';

/** A TypeORM logger that records the SQL statements run while `counting` is on (statement-count tests). */
export class CountingLogger implements Logger {
  counting = false;
  queries: string[] = [];
  logQuery(query: string) { if (this.counting) this.queries.push(query); }
  logQueryError() {}
  logQuerySlow() {}
  logSchemaBuild() {}
  logMigration() {}
  log() {}
}

import { openDataSource } from '../../ormconfig';
import { freshDatabase } from '../helpers/db';

// The entities and the migrations in migrations/ must describe the same MariaDB schema.
test('migrations match the entities on MariaDB (no drift)', async () => {
  const db = await freshDatabase('mariadb');
  const ds = await openDataSource({ databaseUrl: db.url });
  try {
    const pending = await ds.driver.createSchemaBuilder().log();
    expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    expect(await ds.showMigrations()).toBe(false);
  } finally {
    await ds.destroy();
    await db.drop();
  }
});

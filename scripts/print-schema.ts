import 'reflect-metadata';
import fs from 'node:fs';
import path from 'node:path';
import { printSchema } from 'graphql';
import { createSchema } from '../src/resolvers';

/** Writes schema.graphql from the resolvers (npm run schema). */
async function main() {
  const file = path.resolve(__dirname, '..', '..', 'schema.graphql');
  fs.writeFileSync(file, printSchema(await createSchema()) + '\n');
  console.log(`wrote ${file}`);
}

main().catch((e) => { console.error(e); process.exit(1); });

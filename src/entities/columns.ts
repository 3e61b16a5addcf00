import type { ValueTransformer } from 'typeorm';

/** bigint columns come back as numbers from SQLite and strings from MySQL: always numbers here. */
export const bigintTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? value : Number(value)),
};

export const bigint = { type: 'bigint' as const, transformer: bigintTransformer };

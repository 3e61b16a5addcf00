import type { MixedList } from 'typeorm';
import { Initial1795394080670 } from './1795394080670-initial';

/** Every migration, in order (imported explicitly so compiled and ts-run code find the same list). */
export const migrations: MixedList<Function> = [Initial1795394080670];

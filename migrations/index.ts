import type { MixedList } from "typeorm";
export const migrations: MixedList<Function> = [];

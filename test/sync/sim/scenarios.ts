import type { Op } from './ops';
export interface Scenario { name: string; about: string; ops: Op[] }
export const SCENARIOS: Scenario[] = [];
export const KNOWN_FAILING: Record<string, string> = {};

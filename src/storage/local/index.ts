export { LocalStorageAdapter } from './adapter';
export type { LocalOptions } from './options';
export type { GetClaims, PartClaims } from './signing';

/** An ETag without the weak marker and surrounding quotes HTTP puts on it (the form the storage contract uses). */
export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

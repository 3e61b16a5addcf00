import type { GraphQLTransport } from './graphql';
import type { DeviceInfo, User } from './types';

/** The signed-in account with its storage use: `usage` and `quotaBytes` in bytes (decimal strings). */
export interface AccountInfo extends User { usage: string; quotaBytes: string }

/** A public link: `url` (absolute) only in createShareLink's answer, the token being stored hashed. */
export interface ShareLinkInfo {
  id: string;
  url: string | null;
  expiresAt: string | null;
  hasPassword: boolean;
  createdAt: string;
  file: { id: string; path: string; isFolder: boolean };
}

const LINK_FIELDS = `id url expiresAt hasPassword createdAt file { id path isFolder }`;

/** The account, its usage and quota, and this device (the one the token is bound to). */
export async function accountInfo(api: GraphQLTransport): Promise<{ user: AccountInfo; device: DeviceInfo | null }> {
  const r = await api.request<{ me: AccountInfo; devices: DeviceInfo[] }>(
    `query Account { me { id email name usage quotaBytes } devices { id name createdAt revokedAt lastSeenAt current } }`,
  );
  return { user: r.me, device: r.devices.find((d) => d.current) ?? null };
}

/** Creates a public link to a file or folder (owner only); `expiresAt` an ISO date, `password` optional. */
export async function createShareLink(api: GraphQLTransport, fileId: string, opts: { expiresAt?: string; password?: string } = {}): Promise<ShareLinkInfo> {
  const r = await api.request<{ createShareLink: ShareLinkInfo }>(
    `mutation CreateShareLink($fileId: ID!, $expiresAt: DateTime, $password: String) {
      createShareLink(fileId: $fileId, expiresAt: $expiresAt, password: $password) { ${LINK_FIELDS} } }`,
    { fileId, expiresAt: opts.expiresAt ?? null, password: opts.password ?? null },
  );
  return r.createShareLink;
}

/** The live public links of a file or folder (owner only; empty for others). */
export async function shareLinksOf(api: GraphQLTransport, fileId: string): Promise<ShareLinkInfo[]> {
  const r = await api.request<{ file: { shareLinks: ShareLinkInfo[] } | null }>(
    `query ShareLinks($id: ID!) { file(id: $id) { shareLinks { ${LINK_FIELDS} } } }`, { id: fileId },
  );
  return r.file?.shareLinks ?? [];
}

/** Revokes a public link; false if it already was. NOT_FOUND for a link that is not the caller's. */
export async function revokeShareLink(api: GraphQLTransport, id: string): Promise<boolean> {
  return (await api.request<{ revokeShareLink: boolean }>(`mutation RevokeShareLink($id: ID!) { revokeShareLink(id: $id) }`, { id })).revokeShareLink;
}

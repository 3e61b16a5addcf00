import { changesPage, latestCursor, watchChanges, type ChangePage, type ChangeInfo, type WatchOptions } from './changes';
import { downloadFile, type DownloadOptions, type DownloadResult } from './download';
import { TesseraError } from './errors';
import { GraphQLTransport, type TransportOptions } from './graphql';
import * as ops from './operations';
import { downloadTree, type DownloadTreeOptions, type DownloadTreeResult } from './tree-download';
import { uploadTree, type UploadTreeOptions, type UploadTreeResult } from './tree-upload';
import { uploadFile, type UploadOptions, type UploadResult } from './upload';
import type { AuthPayload, DeviceInfo, FileConnection, FileInfo, FileWithChunks, PageInfo, RevisionInfo, SharedItem, ShareInfo, UploadPlan, User } from './types';

export type ClientOptions = TransportOptions;

/**
 * The Tessera client: typed operations over GraphQL plus file transfer. Every method rejects
 * with a TesseraError whose `code` is the server's `extensions.code` (or a client code,
 * see ./errors). Paths are absolute ("/docs/a.txt"; "/" is the root folder).
 */
export class TesseraClient {
  readonly api: GraphQLTransport;

  constructor(opts: ClientOptions) {
    this.api = new GraphQLTransport(opts);
  }

  get server(): string {
    return this.api.server;
  }

  get token(): string | undefined {
    return this.api.token;
  }

  set token(token: string | undefined) {
    this.api.token = token;
  }

  /** Creates an account and uses its token from now on. CONFLICT if the email is taken. */
  async signUp(email: string, password: string, opts: { name?: string; deviceName?: string } = {}): Promise<AuthPayload> {
    const { signUp } = await this.api.request<{ signUp: AuthPayload }>(ops.SIGN_UP, { email, password, ...opts });
    this.token = signUp.token;
    return signUp;
  }

  /** Signs in and uses the token from now on. UNAUTHENTICATED on a wrong email or password. */
  async signIn(email: string, password: string, opts: { deviceName?: string } = {}): Promise<AuthPayload> {
    const { signIn } = await this.api.request<{ signIn: AuthPayload }>(ops.SIGN_IN, { email, password, ...opts });
    this.token = signIn.token;
    return signIn;
  }

  /** The account's devices, signed-out ones too, newest first. */
  async devices(): Promise<DeviceInfo[]> {
    return (await this.api.request<{ devices: DeviceInfo[] }>(ops.DEVICES)).devices;
  }

  /** Signs one of the account's devices out (its token stops working, its feeds end). False if it already was. */
  async revokeDevice(id: string): Promise<boolean> {
    return (await this.api.request<{ revokeDevice: boolean }>(ops.REVOKE_DEVICE, { id })).revokeDevice;
  }

  /** Signs this device out on the server; the client's token is forgotten too. */
  async signOut(): Promise<boolean> {
    const { signOut } = await this.api.request<{ signOut: boolean }>(ops.SIGN_OUT);
    this.token = undefined;
    return signOut;
  }

  /** The signed-in user. UNAUTHENTICATED without a valid token. */
  async me(): Promise<User> {
    return (await this.api.request<{ me: User }>(ops.ME)).me;
  }

  /** The file or folder at `path`, or null if there is none (or the caller may not see it). */
  async fileByPath(path: string): Promise<FileInfo | null> {
    return (await this.api.request<{ fileByPath: FileInfo | null }>(ops.FILE_BY_PATH, { path })).fileByPath;
  }

  /** The file or folder with this id (its `path` as the caller sees it, through their mounts), or null. */
  async fileById(id: string): Promise<FileInfo | null> {
    return (await this.api.request<{ file: FileInfo | null }>(ops.FILE_BY_ID, { id })).file;
  }

  /** One page of a folder's children. NOT_FOUND if the folder does not exist. */
  async listFolderPage(path: string, opts: { first?: number; after?: string } = {}): Promise<FileConnection> {
    return (await this.api.request<{ listFolder: FileConnection }>(ops.LIST_FOLDER, { path, ...opts })).listFolder;
  }

  /** Every child of a folder, following pagination. NOT_FOUND if the folder does not exist. */
  async listFolder(path: string, opts: { pageSize?: number } = {}): Promise<FileInfo[]> {
    return allPages((after) => this.listFolderPage(path, { first: opts.pageSize ?? 200, after }), (e) => e.node);
  }

  /**
   * Every child of a folder with its chunks and a download URL (null for folders): what
   * `download(..., { file })` needs, so a folder of small files downloads without a request per file.
   */
  async listFolderForDownload(path: string, opts: { urlExpiresIn?: number } = {}): Promise<FileWithChunks[]> {
    return allPages(async (after) => (await this.api.request<{ listFolder: { edges: { cursor: string; node: FileWithChunks }[]; pageInfo: PageInfo } }>(
      ops.LIST_FOLDER_FOR_DOWNLOAD, { path, first: 200, after, expiresIn: opts.urlExpiresIn })).listFolder, (e) => e.node);
  }

  /** Shares a file or folder (by path or `{ id }`) with `email`; sharing again changes the role. */
  async share(target: string | { id: string }, email: string, role: 'VIEWER' | 'EDITOR'): Promise<ShareInfo> {
    const { id } = typeof target === 'string' ? await this.requireFile(target) : target;
    return (await this.api.request<{ shareFile: ShareInfo }>(ops.SHARE_FILE, { fileId: id, email, role })).shareFile;
  }

  /** Who a file or folder (by path or `{ id }`) is shared with. */
  async sharesOf(target: string | { id: string }): Promise<ShareInfo[]> {
    const { id } = typeof target === 'string' ? await this.requireFile(target) : target;
    return (await this.api.request<{ file: { shares: ShareInfo[] } | null }>(ops.FILE_SHARES, { id })).file?.shares ?? [];
  }

  /** Ends a share (the owner, or the grantee leaving it). */
  async unshare(shareId: string): Promise<boolean> {
    return (await this.api.request<{ unshare: boolean }>(ops.UNSHARE, { shareId })).unshare;
  }

  /** What others share with this account, each with the share that gives access. */
  async sharedWithMe(): Promise<SharedItem[]> {
    type Page = { edges: { node: FileInfo; share: SharedItem['share'] }[]; pageInfo: FileConnection['pageInfo'] };
    return allPages(
      async (after) => (await this.api.request<{ sharedWithMe: Page }>(ops.SHARED_WITH_ME, { first: 200, after })).sharedWithMe,
      (e) => ({ file: e.node, share: e.share }),
    );
  }

  /** What this account deleted (the top of each deletion), most recent first. */
  async trash(): Promise<FileInfo[]> {
    return allPages(async (after) => (await this.api.request<{ trash: FileConnection }>(ops.TRASH, { first: 200, after })).trash, (e) => e.node);
  }

  /** Brings a trashed file or folder back to its path. CONFLICT if something now stands there. */
  async restoreFile(id: string): Promise<FileInfo> {
    return (await this.api.request<{ restoreFile: FileInfo }>(ops.RESTORE_FILE, { id })).restoreFile;
  }

  /** A file's revisions, newest first. */
  async revisions(path: string): Promise<RevisionInfo[]> {
    const { id, isFolder } = await this.requireFile(path);
    if (isFolder) throw new TesseraError('BAD_USER_INPUT', `${path} is a folder: folders have no revisions`);
    return (await this.api.request<{ file: { revisions: RevisionInfo[] } | null }>(ops.REVISIONS, { id })).file?.revisions ?? [];
  }

  /** Makes an earlier revision's content current again, as a new revision (no bytes move). */
  async restoreRevision(path: string, revision: number): Promise<FileInfo> {
    const { id } = await this.requireFile(path);
    return (await this.api.request<{ restoreRevision: FileInfo }>(ops.RESTORE_REVISION, { fileId: id, revision })).restoreRevision;
  }

  /** Creates a folder (and missing parents). CONFLICT if a file is in the way. */
  async createFolder(path: string): Promise<FileInfo> {
    return (await this.api.request<{ createFolder: FileInfo }>(ops.CREATE_FOLDER, { path })).createFolder;
  }

  /**
   * Moves or renames a file or folder (by path or `{ id }`). NOT_FOUND if absent; CONFLICT if
   * `toPath` is taken, or with `baseRevision`, if the file is no longer at that revision (nothing moves).
   */
  async moveFile(from: string | { id: string }, toPath: string, opts: { baseRevision?: number } = {}): Promise<FileInfo> {
    const { id } = typeof from === 'string' ? await this.requireFile(from) : from;
    return (await this.api.request<{ moveFile: FileInfo }>(ops.MOVE_FILE, { id, toPath, baseRevision: opts.baseRevision })).moveFile;
  }

  /**
   * Moves a file or folder (by path or `{ id }`) to the trash. NOT_FOUND if absent; with
   * `baseRevision`, CONFLICT if the file has changed since that revision (it is kept); with
   * `ifUnchangedSince` (a change-feed cursor), CONFLICT if it or anything inside the folder
   * changed after that cursor (nothing is deleted).
   */
  async deleteFile(target: string | { id: string }, opts: { baseRevision?: number; ifUnchangedSince?: string } = {}): Promise<FileInfo> {
    const { id } = typeof target === 'string' ? await this.requireFile(target) : target;
    return (await this.api.request<{ deleteFile: FileInfo }>(ops.DELETE_FILE, { id, baseRevision: opts.baseRevision, ifUnchangedSince: opts.ifUnchangedSince })).deleteFile;
  }

  /** The server's part size, checksum and limits for a file of `size` bytes. */
  async uploadPlan(size: number): Promise<UploadPlan> {
    return (await this.api.request<{ uploadPlan: UploadPlan }>(ops.UPLOAD_PLAN, { size: String(size) })).uploadPlan;
  }

  /** Discards an upload session. */
  async abortUpload(sessionId: string): Promise<boolean> {
    return (await this.api.request<{ abortUpload: boolean }>(ops.ABORT_UPLOAD, { sessionId })).abortUpload;
  }

  /** A cursor at the end of the change journal: changes from now on. */
  latestCursor(): Promise<string> {
    return latestCursor(this.api);
  }

  /** One page of the change journal after `cursor` (default limit 100). RESET for a cursor too old. */
  changes(cursor?: string, limit?: number): Promise<ChangePage> {
    return changesPage(this.api, cursor, limit);
  }

  /** Changes after `opts.cursor` (or from now on), then live over graphql-ws, reconnecting as needed; see ./changes. */
  watchChanges(opts: WatchOptions = {}): AsyncGenerator<ChangeInfo, void, undefined> {
    return watchChanges(this.api, opts);
  }

  /** Uploads a local file (parallel, resumable, deduplicated); see ./upload. */
  upload(localPath: string, remotePath: string, opts: UploadOptions = {}): Promise<UploadResult> {
    return uploadFile(this.api, localPath, remotePath, opts);
  }

  /** Downloads a file with verified ranged GETs (resumable); see ./download. */
  download(remotePath: string, localPath: string, opts: DownloadOptions = {}): Promise<DownloadResult> {
    return downloadFile(this.api, remotePath, localPath, opts);
  }

  /** Uploads a local folder tree to a remote folder, several files at once; see ./tree-upload. */
  uploadTree(localDir: string, remoteDir: string, opts: UploadTreeOptions = {}): Promise<UploadTreeResult> {
    return uploadTree(this, localDir, remoteDir, opts);
  }

  /** Downloads a remote folder tree to a local folder, skipping files that already match; see ./tree-download. */
  downloadTree(remoteDir: string, localDir: string, opts: DownloadTreeOptions = {}): Promise<DownloadTreeResult> {
    return downloadTree(this, remoteDir, localDir, opts);
  }

  private async requireFile(path: string): Promise<FileInfo> {
    const file = await this.fileByPath(path);
    if (!file) throw new TesseraError('NOT_FOUND', `no such file or folder: ${path}`);
    return file;
  }
}

/** Every item of a paged connection, page after page. */
async function allPages<E, T>(page: (after: string | undefined) => Promise<{ edges: E[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>, item: (e: E) => T): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (;;) {
    const p = await page(after);
    out.push(...p.edges.map(item));
    if (!p.pageInfo.hasNextPage || !p.pageInfo.endCursor) return out;
    after = p.pageInfo.endCursor;
  }
}

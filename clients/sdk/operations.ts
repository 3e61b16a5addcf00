/** Hand-written GraphQL documents used by the SDK (see ./types for their result shapes). */

const FILE_FIELDS = `id name path isFolder size mimeType contentHash status revision createdAt updatedAt`;
const USER_FIELDS = `id email name`;
const PART_FIELDS = `partNumber offset size sha256 status url method headers { name value } urlExpiresAt`;
const PART_STATUS_FIELDS = `partNumber offset size sha256 status`;
const SESSION_FIELDS = `id path size partSize contentHash status expiresAt parts { ${PART_FIELDS} } file { ${FILE_FIELDS} }`;
const SESSION_FIELDS_NO_URLS = `id path size partSize contentHash status expiresAt parts { ${PART_STATUS_FIELDS} } file { ${FILE_FIELDS} }`;
const AUTH_FIELDS = `token user { ${USER_FIELDS} } device { id name }`;

export const SIGN_UP = `mutation SignUp($email: String!, $password: String!, $name: String, $deviceName: String) {
  signUp(email: $email, password: $password, name: $name, deviceName: $deviceName) { ${AUTH_FIELDS} } }`;

export const SIGN_IN = `mutation SignIn($email: String!, $password: String!, $deviceName: String) {
  signIn(email: $email, password: $password, deviceName: $deviceName) { ${AUTH_FIELDS} } }`;

export const ME = `query Me { me { ${USER_FIELDS} } }`;

export const SHARE_FILE = `mutation ShareFile($fileId: ID!, $email: String!, $role: ShareRole!) {
  shareFile(fileId: $fileId, email: $email, role: $role) { id role createdAt user { ${USER_FIELDS} } sharedBy { ${USER_FIELDS} } } }`;

export const FILE_SHARES = `query FileShares($id: ID!) {
  file(id: $id) { shares { id role createdAt user { ${USER_FIELDS} } sharedBy { ${USER_FIELDS} } } } }`;

export const UNSHARE = `mutation Unshare($shareId: ID!) { unshare(shareId: $shareId) }`;

export const SHARED_WITH_ME = `query SharedWithMe($first: Int, $after: String) {
  sharedWithMe(first: $first, after: $after) {
    edges { node { ${FILE_FIELDS} } share { id role sharedBy { ${USER_FIELDS} } } } pageInfo { hasNextPage endCursor } } }`;

export const TRASH = `query Trash($first: Int, $after: String) {
  trash(first: $first, after: $after) { edges { node { ${FILE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;

export const RESTORE_FILE = `mutation RestoreFile($id: ID!) { restoreFile(id: $id) { ${FILE_FIELDS} } }`;

export const REVISIONS = `query Revisions($id: ID!) { file(id: $id) { revisions { revision size contentHash current createdAt } } }`;

export const RESTORE_REVISION = `mutation RestoreRevision($fileId: ID!, $revision: Int!) {
  restoreRevision(fileId: $fileId, revision: $revision) { ${FILE_FIELDS} } }`;

export const DEVICES = `query Devices { devices { id name createdAt revokedAt lastSeenAt current } }`;

export const REVOKE_DEVICE = `mutation RevokeDevice($id: ID!) { revokeDevice(id: $id) }`;

export const SIGN_OUT = `mutation SignOut { signOut }`;

export const FILE_BY_PATH = `query FileByPath($path: String!) { fileByPath(path: $path) { ${FILE_FIELDS} } }`;

export const FILE_BY_ID = `query FileById($id: ID!) { file(id: $id) { ${FILE_FIELDS} } }`;

export const FILE_FOR_DOWNLOAD = `query FileForDownload($path: String!, $expiresIn: Int) {
  fileByPath(path: $path) { ${FILE_FIELDS} downloadUrl(expiresIn: $expiresIn) chunks { index offset size sha256 status } } }`;

export const DOWNLOAD_URL = `query DownloadUrl($id: ID!, $expiresIn: Int) {
  file(id: $id) { contentHash downloadUrl(expiresIn: $expiresIn) } }`;

/** A folder's children with what downloading each file needs (chunk digests, a download URL): one request for a page of files. */
export const LIST_FOLDER_FOR_DOWNLOAD = `query ListFolderForDownload($path: String!, $first: Int, $after: String, $expiresIn: Int) {
  listFolder(path: $path, first: $first, after: $after) {
    edges { cursor node { ${FILE_FIELDS} downloadUrl(expiresIn: $expiresIn) chunks { index offset size sha256 status } } } pageInfo { hasNextPage endCursor } } }`;

export const LIST_FOLDER = `query ListFolder($path: String!, $first: Int, $after: String) {
  listFolder(path: $path, first: $first, after: $after) {
    edges { cursor node { ${FILE_FIELDS} } } pageInfo { hasNextPage endCursor } } }`;

export const CREATE_FOLDER = `mutation CreateFolder($path: String!) { createFolder(path: $path) { ${FILE_FIELDS} } }`;

export const MOVE_FILE = `mutation MoveFile($id: ID!, $toPath: String!, $baseRevision: Int) { moveFile(id: $id, toPath: $toPath, baseRevision: $baseRevision) { ${FILE_FIELDS} } }`;

export const DELETE_FILE = `mutation DeleteFile($id: ID!, $baseRevision: Int, $ifUnchangedSince: String) {
  deleteFile(id: $id, baseRevision: $baseRevision, ifUnchangedSince: $ifUnchangedSince) { ${FILE_FIELDS} } }`;

export const UPLOAD_PLAN = `query UploadPlan($size: BigInt!) {
  uploadPlan(size: $size) { partSize partCount maxParts minPartSize maxSize checksumAlgorithm partChecksum singlePut } }`;

export const BEGIN_UPLOAD = `mutation BeginUpload($input: BeginUploadInput!) { beginUpload(input: $input) { ${SESSION_FIELDS} } }`;

/** beginUpload without part URLs: big files fetch them a window at a time (refreshPartUrls). */
export const BEGIN_UPLOAD_NO_URLS = `mutation BeginUpload($input: BeginUploadInput!) { beginUpload(input: $input) { ${SESSION_FIELDS_NO_URLS} } }`;

export const CONFIRM_PARTS = `mutation ConfirmParts($sessionId: ID!, $parts: [ConfirmPartInput!]!) {
  confirmParts(sessionId: $sessionId, parts: $parts) { id status } }`;

export const REFRESH_PART_URLS = `mutation RefreshPartUrls($sessionId: ID!, $partNumbers: [Int!]!) {
  refreshPartUrls(sessionId: $sessionId, partNumbers: $partNumbers) { ${PART_FIELDS} } }`;

/** The chunk list of the file now at a path: which parts of a new version are already there. */
export const FILE_CHUNKS = `query FileChunks($path: String!) { fileByPath(path: $path) { isFolder chunks { index offset size sha256 } } }`;

export const COPY_PARTS = `mutation CopyParts($sessionId: ID!, $partNumbers: [Int!]!) {
  copyParts(sessionId: $sessionId, partNumbers: $partNumbers) { ${PART_FIELDS} } }`;

export const COMPLETE_UPLOAD = `mutation CompleteUpload($sessionId: ID!, $parts: [ConfirmPartInput!]) { completeUpload(sessionId: $sessionId, parts: $parts) { ${FILE_FIELDS} } }`;

/** A session's state and, once completed, its file (what an upload checks when its session finished under it). */
export const UPLOAD_SESSION_STATE = `query UploadSessionState($id: ID!) { uploadSession(id: $id) { id status file { ${FILE_FIELDS} } } }`;

export const ABORT_UPLOAD = `mutation AbortUpload($sessionId: ID!) { abortUpload(sessionId: $sessionId) }`;

export { User } from './user';
export { Device } from './device';
export { FileNode } from './file-node';
export type { FileStatus } from './file-node';
export { FileRevision } from './file-revision';
export { Chunk } from './chunk';
export { UploadSession } from './upload-session';
export type { UploadStatus } from './upload-session';
export { UploadPart } from './upload-part';
export type { PartStatus } from './upload-part';
export { Change, JournalHead } from './change';
export type { ChangeKind } from './change';
export { Share } from './share';
export type { ShareRole } from './share';
export { ShareLink } from './share-link';

import { User } from './user';
import { Device } from './device';
import { FileNode } from './file-node';
import { FileRevision } from './file-revision';
import { Chunk } from './chunk';
import { UploadSession } from './upload-session';
import { UploadPart } from './upload-part';
import { Change, JournalHead } from './change';
import { Share } from './share';
import { ShareLink } from './share-link';

export const entities = [User, Device, FileNode, FileRevision, Chunk, UploadSession, UploadPart, Change, JournalHead, Share, ShareLink];

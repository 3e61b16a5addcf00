import type { TesseraClient } from '../sdk/client';
import { remotePath } from './files';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A remote argument as a path of the caller's tree: a file or folder id (as `tessera shared`
 * and `--json` outputs show) becomes the path where the caller sees it, shared folders included
 * (the server presents it through the caller's mount); anything else is a path ("docs/a.txt" is
 * "/docs/a.txt"). An id-shaped name that no file has stays a path.
 */
export async function remoteArg(client: TesseraClient, arg: string): Promise<string> {
  if (ID.test(arg)) {
    const file = await client.fileById(arg);
    if (file) return file.path;
  }
  return remotePath(arg);
}

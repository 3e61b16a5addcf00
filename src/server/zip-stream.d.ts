/** The part of zip-stream (6.x, CommonJS) the folder-link zip uses. */
declare module 'zip-stream' {
  import { Transform } from 'node:stream';
  interface ZipStreamOptions { zlib?: { level?: number }; store?: boolean; forceZip64?: boolean; comment?: string }
  interface EntryData { name: string; date?: Date; store?: boolean; mode?: number; type?: 'file' | 'directory' }
  class ZipStream extends Transform {
    constructor(options?: ZipStreamOptions);
    entry(source: NodeJS.ReadableStream | Buffer | string | null, data: EntryData, callback: (err?: Error | null) => void): this;
    finish(): void;
    getBytesWritten(): number;
  }
  export = ZipStream;
}

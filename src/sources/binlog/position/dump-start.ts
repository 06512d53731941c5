// Where the dump starts, already resolved against the server (position/resolve-start.ts makes it,
// stream/binlog-source.ts starts from it): apart from both, so that position/ needs nothing of stream/.
export type BinlogDumpStart =
  | { gtidSet: string }
  | { file: string; offset: number }
  | { atEnd: true };

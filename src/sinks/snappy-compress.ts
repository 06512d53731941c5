// Snappy compression of Parquet pages by the snappy package (napi-rs bindings to Google's snappy)
// instead of hyparquet-writer's JavaScript compressor. That one appends to a ByteWriter that starts at
// 1 KiB and doubles (a new ArrayBuffer each time) and makes a subarray per literal: an eighth of
// everything a Parquet row group allocated, garbage that set the daemon's peak RSS. The native one
// makes one Buffer per page, outside V8's heap; any reader of Snappy reads its output.
import { compressSync } from 'snappy';

export function snappyCompress(input: Uint8Array): Uint8Array {
  return compressSync(input);
}

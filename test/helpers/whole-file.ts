// Tests that put a file in place through a FileSystem (local, WebHDFS, FTP) do it in one call.
import type { FileSystem } from '../../src/filesystem/filesystem.ts';

/** Writes a whole file through a FileSystem, as a sink stages one: create, one write, close. */
export async function writeWholeFile(fs: FileSystem, path: string, content: string | Buffer): Promise<void> {
  const writer = await fs.create(path);
  await writer.write(content);
  await writer.close();
}

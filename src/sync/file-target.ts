// A batch job's files on any FileSystem (local disk, HDFS, FTP), as FlinkX lays them out: each channel
// stages files under `<target>/.data/` named `channel.runId.fileIndex`; a checkpoint closes them,
// records the renames with the channel offsets, then moves them into `<target>/`. A reader of
// `<target>` (Hive, a person) sees whole checkpoints only: Hive and Hadoop skip names starting with '.'.
import type { CellValue } from '../core/change-event.ts';
import { joinPath, type FileSystem, type FileWriter } from '../filesystem/filesystem.ts';
import { SluiceError } from '../core/errors.ts';
import { writeTextRow } from '../sinks/row-file-format.ts';
import type { ChannelWriter, SyncTarget } from './sync-target.ts';
import type { PendingRename, SyncState } from './sync-state.ts';
import type { SyncStateStore } from './sync-state-store.ts';

export const STAGING_DIR = '.data';

export interface FileTargetOptions {
  fs: FileSystem;
  /** The target directory on `fs`. */
  path: string;
  mode: 'append' | 'overwrite';
  rollBytes: number;
  hiveTypes: string[];
  store: SyncStateStore;
}

class ChannelFiles implements ChannelWriter {
  private current: FileWriter | undefined;
  /** Closed (or about to be) since the last checkpoint: what the next checkpoint renames. */
  private staged: string[] = [];

  constructor(
    private readonly target: FileTarget,
    private readonly channel: number,
  ) {}

  async write(row: readonly CellValue[]): Promise<void> {
    if (!this.current) this.current = await this.target.openStaged(this.channel);
    await writeTextRow(this.current, row, this.target.options.hiveTypes);
    if (this.current.bytesWritten >= this.target.options.rollBytes) await this.closeCurrent();
  }

  private async closeCurrent(): Promise<void> {
    const file = this.current;
    if (!file) return;
    this.current = undefined;
    await file.close();
    this.staged.push(file.path);
  }

  /** Pre-commit: every file of this channel closed and durable. */
  async preCommit(): Promise<string[]> {
    await this.closeCurrent();
    const staged = this.staged;
    this.staged = [];
    return staged;
  }

  async abort(): Promise<void> {
    await this.current?.abort().catch(() => undefined);
    this.current = undefined;
  }
}

export class FileTarget implements SyncTarget {
  readonly description: string;
  private readonly staging: string;
  private readonly channels = new Map<number, ChannelFiles>();
  private state: SyncState | undefined;

  constructor(readonly options: FileTargetOptions) {
    this.description = `${options.fs.description.replace(/\/$/, '')}${options.path}`;
    this.staging = joinPath(options.path, STAGING_DIR);
  }

  async check(): Promise<void> {
    const status = await this.options.fs.status(this.options.path);
    if (status?.type === 'file') {
      throw new SluiceError('SLUICE_SYNC_PRECONDITION', `writer.path: ${this.description} is a file; the target must be a directory`, {
        context: { configKey: 'writer.path', file: this.options.path },
      });
    }
  }

  async recover(): Promise<SyncState | undefined> {
    const state = await this.options.store.latest();
    // Also for a finished run: its last record may be written while its renames are not.
    if (state) await this.commit(state.pending);
    // What no record names is a run's uncommitted tail (or a stale run's); it goes either way.
    await this.options.fs.delete(this.staging, true);
    return state;
  }

  async start(state: SyncState, fresh: boolean): Promise<void> {
    this.state = state;
    if (!fresh) return;
    const { fs, path, mode } = this.options;
    // A target that cannot be listed must fail here: skipping the emptying would mix old rows in.
    if (mode === 'overwrite' && (await fs.status(path)) !== undefined) {
      for (const entry of await fs.list(path)) await fs.delete(entry.path, true);
    }
    await fs.delete(this.staging, true);
    await fs.mkdirs(path);
    await this.options.store.write(state);
  }

  writer(channel: number): ChannelWriter {
    let files = this.channels.get(channel);
    if (!files) {
      files = new ChannelFiles(this, channel);
      this.channels.set(channel, files);
    }
    return files;
  }

  async openStaged(channel: number): Promise<FileWriter> {
    const state = this.requireState();
    const channelState = state.channels[channel]!;
    const name = `${channel}.${state.runId}.${channelState.nextFile}`;
    channelState.nextFile++;
    return this.options.fs.create(joinPath(this.staging, name));
  }

  async checkpoint(state: SyncState): Promise<void> {
    const pending: PendingRename[] = [];
    for (const files of this.channels.values()) {
      for (const from of await files.preCommit()) pending.push({ from, to: joinPath(this.options.path, from.slice(from.lastIndexOf('/') + 1)) });
    }
    const record: SyncState = { ...state, pending };
    await this.options.store.write(record);
    await this.commit(pending);
  }

  /** Idempotent: a rename whose source is gone and whose target exists was done before a crash. */
  private async commit(pending: readonly PendingRename[]): Promise<void> {
    const { fs } = this.options;
    for (const { from, to } of pending) {
      if (await fs.status(from)) {
        await fs.rename(from, to);
      } else if (!(await fs.status(to))) {
        throw new SluiceError(
          'SLUICE_COMMIT_LOST',
          `the checkpoint record names ${from}, but neither it nor ${to} exists on ${fs.description}: a committed file was removed by something else`,
          { context: { file: from } },
        );
      }
    }
  }

  async close(): Promise<void> {
    for (const files of this.channels.values()) await files.abort();
    await this.options.fs.close?.();
  }

  private requireState(): SyncState {
    if (!this.state) throw new Error('FileTarget used before start()');
    return this.state;
  }
}

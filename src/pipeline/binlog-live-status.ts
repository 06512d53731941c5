// The binlog -> Hive job's part of `/status`: its positions described for people, its stopped and
// catching-up tables, the snapshot's progress and compaction's, from the objects that hold them.
import type { TableGate } from '../checkpoint/table-gate.ts';
import type { SourceState } from '../core/source.ts';
import { ALL_OTHERS, type LiveStatus } from '../runtime/daemon-status.ts';
import { describePosition, type BinlogSourceState } from '../sources/binlog/position/binlog-position.ts';
import type { ServerFacts } from '../sources/binlog/server/preflight.ts';
import { SNAPSHOT, type SnapshotState } from '../sources/snapshot/snapshot-progress.ts';
import type { PipelineFigures } from './pipeline-loop.ts';

export function binlogLiveStatus(parts: {
  server: string;
  facts: ServerFacts;
  where: { committed: BinlogSourceState; boundary: BinlogSourceState; also: Record<string, SourceState> | undefined };
  figures: PipelineFigures;
  gate: TableGate<BinlogSourceState>;
  compaction: LiveStatus['compaction'];
}): LiveStatus {
  const { where, figures, gate } = parts;
  const stopped: LiveStatus['stopped'] = {};
  for (const [table, entry] of gate.stoppedTables) stopped[table] = { code: entry.code, message: entry.message, since: describePosition(entry.since.position), stoppedAt: entry.stoppedAt };
  const ahead: LiveStatus['ahead'] = {};
  for (const [table, from] of gate.aheadPoints) ahead[table ?? ALL_OTHERS] = from.nextSequence;
  return {
    source: { kind: parts.facts.isMariaDb ? 'mariadb' : 'mysql', server: parts.server, version: parts.facts.version },
    position: describePosition(where.committed.position),
    readPosition: describePosition(where.boundary.position),
    lastCheckpoint:
      figures.lastCheckpointAt && figures.lastCheckpointId !== undefined
        ? { id: figures.lastCheckpointId, at: figures.lastCheckpointAt.toISOString(), durationMs: figures.lastCheckpointDurationMs ?? 0 }
        : undefined,
    stopped,
    ahead,
    snapshot: snapshotStatus(where.also?.[SNAPSHOT] as SnapshotState | undefined),
    compaction: parts.compaction,
  };
}

function snapshotStatus(state: SnapshotState | undefined): LiveStatus['snapshot'] {
  if (!state) return undefined;
  const tables = Object.entries(state.position.tables);
  return {
    tables: tables.length,
    done: tables.filter(([, table]) => table.done).length,
    rows: tables.reduce((sum, [, table]) => sum + table.rows, 0),
    next: tables.find(([, table]) => !table.done)?.[0],
  };
}

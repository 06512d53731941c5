// Turns "where to start" (a checkpoint, or the configured start) into a dump request the server
// can serve, and refuses a position the server no longer has instead of silently starting elsewhere.
import { SluiceError } from '../../../core/errors.ts';
import { describePosition, describeStart, type BinlogPosition, type BinlogSourceState, type BinlogStart } from './binlog-position.ts';
import type { BinlogDumpStart } from './dump-start.ts';
import type { PeekTarget } from './binlog-peek.ts';
import type { ServerFacts } from '../server/preflight.ts';
import { locateTimestamp } from './timestamp-start.ts';

export interface ResolvedStart {
  dump: BinlogDumpStart;
  /** The boundary the stream starts at: what a checkpoint records if no transaction comes before it. */
  position: BinlogPosition;
  nextSequence: bigint;
  description: string;
  /** What the server answered for a start it had to look up (a timestamp): where that landed, and why. */
  note?: string;
}

/**
 * resolveStart, and the starts that need the server's binlog to be read first (a timestamp). `replica`
 * is sluice's own connection and server id, used only for such a look.
 */
export async function resolveStartOnServer(
  replica: PeekTarget,
  server: string,
  facts: ServerFacts,
  checkpoint: BinlogSourceState | undefined,
  configured: BinlogStart,
): Promise<ResolvedStart> {
  if (checkpoint || configured.kind !== 'timestamp') return resolveStart(server, facts, checkpoint, configured);
  const located = await locateTimestamp(replica, server, facts, configured);
  const description = `configured start ${describeStart(configured)}: ${located.note}`;
  if (located.kind === 'head') return { ...resolveStart(server, facts, undefined, { kind: 'latest' }), description, note: located.note };
  const { position } = located;
  const dump: BinlogDumpStart =
    facts.hasGtid && position.gtidSet !== undefined ? { gtidSet: position.gtidSet } : { file: position.file, offset: position.offset };
  return { dump, position, nextSequence: 1n, description, note: located.note };
}

export function resolveStart(
  server: string,
  facts: ServerFacts,
  checkpoint: BinlogSourceState | undefined,
  configured: BinlogStart,
): ResolvedStart {
  if (checkpoint) {
    const position = checkpoint.position;
    const nextSequence = BigInt(checkpoint.nextSequence);
    const description = `checkpoint at ${describePosition(position)}`;
    if (facts.hasGtid && position.gtidSet !== undefined) {
      return { dump: { gtidSet: position.gtidSet }, position, nextSequence, description };
    }
    requireFile(server, facts, position.file, describePosition(position));
    return { dump: { file: position.file, offset: position.offset }, position, nextSequence, description };
  }
  const description = `configured start ${describeStart(configured)}`;
  switch (configured.kind) {
    case 'earliest': {
      const first = facts.binlogFiles[0];
      if (!first) throw new SluiceError('SLUICE_BINLOG_SETTING', `${server} lists no binlog files (SHOW BINARY LOGS)`, { context: { server } });
      return { dump: { file: first.name, offset: 4 }, position: { file: first.name, offset: 4 }, nextSequence: 1n, description };
    }
    case 'latest': {
      const position: BinlogPosition = { ...facts.head, ...(facts.gtidPosition !== undefined ? { gtidSet: facts.gtidPosition } : {}) };
      const dump: BinlogDumpStart =
        facts.hasGtid && facts.gtidPosition !== undefined ? { gtidSet: facts.gtidPosition } : { file: facts.head.file, offset: facts.head.offset };
      return { dump, position, nextSequence: 1n, description };
    }
    case 'file':
      requireFile(server, facts, configured.file, `${configured.file}:${configured.offset}`);
      return {
        dump: { file: configured.file, offset: configured.offset },
        position: { file: configured.file, offset: configured.offset },
        nextSequence: 1n,
        description,
      };
    case 'gtid':
      return {
        dump: { gtidSet: configured.gtidSet },
        position: { file: facts.head.file, offset: facts.head.offset, gtidSet: configured.gtidSet },
        nextSequence: 1n,
        description,
      };
    case 'timestamp':
      // Which transaction that is only the binlog can say: resolveStartOnServer reads it.
      throw new SluiceError('SLUICE_BINLOG_SETTING', `a ${describeStart(configured)} start has to be looked up in the binlog of ${server}; use resolveStartOnServer`, {
        context: { server },
      });
  }
}

function requireFile(server: string, facts: ServerFacts, file: string, wanted: string): void {
  if (facts.binlogFiles.some((entry) => entry.name === file)) return;
  const oldest = facts.binlogFiles[0]?.name ?? '(none)';
  throw new SluiceError(
    'SLUICE_BINLOG_POSITION_PURGED',
    `${server} no longer has binlog position ${wanted}: the oldest binlog file it has is ${oldest}. ` +
      'The changes in between are gone from the server. To go on, take a new snapshot of the tables, or start ' +
      'from a position the server still has (source.start), knowing that changes before it are skipped. ' +
      'With snapshot.mode: when_needed, sluice takes that snapshot by itself at the next start.',
    { context: { server, position: wanted, oldest } },
  );
}

// XA transactions as the binlog carries them. MariaDB (10.5+) writes an XA transaction's rows at
// XA PREPARE: a GTID event flagged "prepared XA" with the xid (mariadb-binlog prints it as
// `XA START X'..',X'..',N`), the rows, a Query `XA END xid`, and an XA_PREPARE_LOG_EVENT. MySQL writes
// the XA START as a Query event instead. `XA COMMIT xid` / `XA ROLLBACK xid` follow later, as their
// own transaction (a Query event), possibly after other transactions and after a restart.
// `XA COMMIT xid ONE PHASE` is an ordinary transaction on MariaDB; MySQL marks its XA_PREPARE event
// `one_phase`. An XA ROLLBACK of a transaction never prepared writes nothing.

import type { XaStep } from '../../../core/change-event.ts';

export type { XaStep };

export type XaVerb = 'start' | 'end' | 'prepare' | 'commit' | 'rollback';

export interface XaStatement {
  verb: XaVerb;
  /** The xid in one spelling for every way of writing it (see formatXid). */
  xid: string;
  /** `XA COMMIT xid ONE PHASE`. */
  onePhase: boolean;
}

/**
 * The xid as MariaDB's binlog spells it: `X'<gtrid hex>',X'<bqual hex>',<formatID>`. The server logs
 * XA COMMIT/ROLLBACK in this form whatever the client wrote, and the GTID and XA_PREPARE events carry
 * the parts as bytes, so one spelling lets the two be matched.
 */
export function formatXid(gtrid: Buffer, bqual: Buffer, formatId: number): string {
  return `X'${gtrid.toString('hex')}',X'${bqual.toString('hex')}',${formatId}`;
}

/** The xid of a MariaDB GTID or XA_PREPARE event as zongji decodes it, when it has one. */
export function xidOfEvent(event: { xidGtrid?: Buffer; xidBqual?: Buffer; xidFormatId?: number }): string | undefined {
  if (!event.xidGtrid || !event.xidBqual || event.xidFormatId === undefined) return undefined;
  return formatXid(event.xidGtrid, event.xidBqual, event.xidFormatId);
}

const XA_HEAD = /^XA\s+(START|BEGIN|END|PREPARE|COMMIT|ROLLBACK)\s+/i;
// A part of an xid: X'hex', 0xhex, or a quoted string (with doubled quotes or backslash escapes).
const PART = /^\s*(?:[Xx]'([0-9A-Fa-f]*)'|0x([0-9A-Fa-f]+)|'((?:[^'\\]|\\.|'')*)'|"((?:[^"\\]|\\.|"")*)")/;

/** An `XA ...` statement's verb and xid; undefined for any other statement. */
export function parseXaStatement(statement: string): XaStatement | undefined {
  const head = XA_HEAD.exec(statement.trimStart());
  if (!head) return undefined;
  const upperVerb = head[1]!.toUpperCase();
  const verb: XaVerb = upperVerb === 'BEGIN' ? 'start' : (upperVerb.toLowerCase() as XaVerb);
  let rest = statement.trimStart().slice(head[0].length);
  const parts: Buffer[] = [];
  for (let index = 0; index < 2; index++) {
    const part = PART.exec(rest);
    if (!part) break;
    parts.push(partBytes(part));
    rest = rest.slice(part[0].length);
    const comma = /^\s*,/.exec(rest);
    if (!comma) break;
    rest = rest.slice(comma[0].length);
  }
  if (parts.length === 0) return undefined;
  let formatId = 1;
  if (parts.length === 2) {
    const number = /^\s*(\d+)/.exec(rest);
    if (number) {
      formatId = Number(number[1]);
      rest = rest.slice(number[0].length);
    }
  }
  return {
    verb,
    xid: formatXid(parts[0]!, parts[1] ?? Buffer.alloc(0), formatId),
    onePhase: verb === 'commit' && /^\s*ONE\s+PHASE\b/i.test(rest),
  };
}

function partBytes(part: RegExpExecArray): Buffer {
  if (part[1] !== undefined) return Buffer.from(part[1], 'hex');
  if (part[2] !== undefined) return Buffer.from(part[2].length % 2 === 0 ? part[2] : `0${part[2]}`, 'hex');
  const quoted = part[3] ?? part[4] ?? '';
  const quote = part[3] !== undefined ? "'" : '"';
  return Buffer.from(quoted.replaceAll(quote + quote, quote).replace(/\\(.)/g, '$1'), 'utf8');
}

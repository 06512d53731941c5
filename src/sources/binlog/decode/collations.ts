// The character set of every collation id a TableMap can carry, as the server itself numbers them.
// zongji 0.9 maps collation ids to charsets with MySQL 8's table and reads any id it does not know as
// utf8mb4. MariaDB numbers many collations MySQL does not have: the NO PAD ones (1025..1270, e.g.
// latin1_nopad_bin = 1071), the croatian/myanmar/thai ones of the Unicode charsets (576..578,
// 608..610, 640..642, 672..674, 736..738) and, from 10.10 on, the uca1400 ones (2048..3271). A
// latin1_nopad_bin column then decodes as UTF-8 (bytes above 0x7F become U+FFFD, which utf8mb4 may
// hold, so nothing notices) and its varchar length is divided by 4; a ucs2 column comes out as
// garbage. So sluice reads the server's own list once at connect time and fixes the columns of every
// TableMap before its rows are parsed (applyServerCollations).
import type mysql from 'mysql2/promise';
import { SluiceError } from '../../../core/errors.ts';
import { decodeText } from './cell-decoder.ts';
import { isSingleByteCharset } from './single-byte-charsets.ts';
import { MYSQL_TYPE_VARCHAR, MYSQL_TYPE_VARCHAR_COMPRESSED, MYSQL_TYPE_ENUM, MYSQL_TYPE_SET, MYSQL_TYPE_STRING, BINARY_COLLATION_ID } from './binlog-type-codes.ts';

export interface CollationCharsets {
  /** Where the list came from: the server it was read from, or sluice's built-in copy of MariaDB 10.11's. */
  readonly source: 'server' | 'built-in';
  /** The charset of a collation id (as information_schema spells it, utf8 as utf8mb3); undefined when the list has no such id. */
  charsetOf(id: number): string | undefined;
  /** The most bytes a character of `charset` takes (information_schema.CHARACTER_SETS.MAXLEN). */
  maxBytesPerChar(charset: string): number | undefined;
}

class CollationTable implements CollationCharsets {
  constructor(
    readonly source: 'server' | 'built-in',
    private readonly charsets: ReadonlyMap<number, string>,
    private readonly maxLengths: ReadonlyMap<string, number>,
  ) {}

  charsetOf(id: number): string | undefined {
    return this.charsets.get(id);
  }

  maxBytesPerChar(charset: string): number | undefined {
    return this.maxLengths.get(charset);
  }
}

// Old MySQL 8.0 (before 8.0.30) and MariaDB before 10.6 call utf8mb3 'utf8'; zongji, sluice's
// decoders and newer servers say utf8mb3.
function normalCharset(name: string): string {
  const lower = name.toLowerCase();
  return lower === 'utf8' ? 'utf8mb3' : lower;
}

/**
 * Reads the server's collation ids. information_schema.COLLATIONS has them all on MySQL and on
 * MariaDB before 10.10; from 10.10 on it lists the uca1400 collations once, without charset or id,
 * and COLLATION_CHARACTER_SET_APPLICABILITY has one row with an ID for each of their charsets.
 */
export async function readServerCollations(connection: mysql.Connection): Promise<CollationCharsets> {
  const charsets = new Map<number, string>();
  const add = (rows: unknown): void => {
    for (const row of rows as { ID: number | string | null; CHARACTER_SET_NAME: string | null }[]) {
      if (row.ID === null || row.CHARACTER_SET_NAME === null) continue;
      charsets.set(Number(row.ID), normalCharset(row.CHARACTER_SET_NAME));
    }
  };
  const [collations] = await connection.query('SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS');
  add(collations);
  try {
    const [applicable] = await connection.query('SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY');
    add(applicable);
  } catch (error) {
    // No ID column there (MySQL, MariaDB before 10.10): COLLATIONS had them all.
    if ((error as { code?: string }).code !== 'ER_BAD_FIELD_ERROR') throw error;
  }
  const [sets] = await connection.query('SELECT CHARACTER_SET_NAME, MAXLEN FROM information_schema.CHARACTER_SETS');
  const maxLengths = new Map<string, number>();
  for (const row of sets as { CHARACTER_SET_NAME: string; MAXLEN: number | string }[]) maxLengths.set(normalCharset(row.CHARACTER_SET_NAME), Number(row.MAXLEN));
  if (charsets.size === 0 || maxLengths.size === 0) throw new Error('information_schema.COLLATIONS or CHARACTER_SETS is empty');
  return new CollationTable('server', charsets, maxLengths);
}

// MariaDB 10.11's collation ids by charset, for when the server's own list cannot be read. Made with
//   SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL
//   UNION SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY
// and SELECT CHARACTER_SET_NAME, MAXLEN FROM information_schema.CHARACTER_SETS.
const MARIADB_10_11_IDS: Record<string, string> = {
  armscii8: '32 64 1056 1088',
  ascii: '11 65 1035 1089',
  big5: '1 84 1025 1108',
  binary: '63',
  cp1250: '26 34 44 66 99 1050 1090',
  cp1251: '14 23 50-52 1074-1075',
  cp1256: '57 67 1081 1091',
  cp1257: '29 58-59 1082-1083',
  cp850: '4 80 1028 1104',
  cp852: '40 81 1064 1105',
  cp866: '36 68 1060 1092',
  cp932: '95-96 1119-1120',
  dec8: '3 69 1027 1093',
  eucjpms: '97-98 1121-1122',
  euckr: '19 85 1043 1109',
  gb2312: '24 86 1048 1110',
  gbk: '28 87 1052 1111',
  geostd8: '92-93 1116-1117',
  greek: '25 70 1049 1094',
  hebrew: '16 71 1040 1095',
  hp8: '6 72 1030 1096',
  keybcs2: '37 73 1061 1097',
  koi8r: '7 74 1031 1098',
  koi8u: '22 75 1046 1099',
  latin1: '5 8 15 31 47-49 94 1032 1071',
  latin2: '2 9 21 27 77 1033 1101',
  latin5: '30 78 1054 1102',
  latin7: '20 41-42 79 1065 1103',
  macce: '38 43 1062 1067',
  macroman: '39 53 1063 1077',
  sjis: '13 88 1037 1112',
  swe7: '10 82 1034 1106',
  tis620: '18 89 1042 1113',
  ucs2: '35 90 128-151 159 640-642 1059 1114 1152 1174 2560-2727 2744-2759',
  ujis: '12 91 1036 1115',
  utf16: '54-55 101-124 672-674 1078-1079 1125 1147 2816-2983 3000-3015',
  utf16le: '56 62 1080 1086',
  utf32: '60-61 160-183 736-738 1084-1085 1184 1206 3072-3239 3256-3271',
  utf8mb3: '33 83 192-215 223 576-578 1057 1107 1216 1238 2048-2215 2232-2247',
  utf8mb4: '45-46 224-247 608-610 1069-1070 1248 1270 2304-2471 2488-2503',
};

const MARIADB_10_11_MAXLEN: Record<string, number> = {
  big5: 2,
  cp932: 2,
  eucjpms: 3,
  euckr: 2,
  gb2312: 2,
  gbk: 2,
  sjis: 2,
  ucs2: 2,
  ujis: 3,
  utf16: 4,
  utf16le: 4,
  utf32: 4,
  utf8mb3: 3,
  utf8mb4: 4,
  // Every other charset: 1.
};

let builtIn: CollationCharsets | undefined;

/** MariaDB 10.11's list, built into sluice. */
export function builtInCollations(): CollationCharsets {
  if (builtIn) return builtIn;
  const charsets = new Map<number, string>();
  const maxLengths = new Map<string, number>();
  for (const [charset, ranges] of Object.entries(MARIADB_10_11_IDS)) {
    maxLengths.set(charset, MARIADB_10_11_MAXLEN[charset] ?? 1);
    for (const range of ranges.split(' ')) {
      const [first, last = first] = range.split('-').map(Number) as [number, number?];
      for (let id = first; id <= last; id++) charsets.set(id, charset);
    }
  }
  builtIn = new CollationTable('built-in', charsets, maxLengths);
  return builtIn;
}

// ---- the TableMap hook ---------------------------------------------------------------------------


/** What of zongji's TableMap event (lib/binlog_event.js) the hook reads and changes. */
export interface TableMapCharsetEvent {
  tableId?: number;
  schemaName?: string;
  tableName?: string;
  tableMap?: Record<number, unknown>;
  /** The collation id of each character column (FULL and MINIMAL metadata); undefined elsewhere. */
  _columnCharsetIds?: (number | undefined)[];
  /** The ENUM and SET members as bytes in the column's charset (FULL metadata). */
  _enumSetValues?: (Buffer[] | undefined)[];
}

interface HookColumn {
  type: number;
  charset: string | null;
  metadata?: Record<string, unknown>;
}

interface HookColumnSchema {
  COLUMN_NAME: string;
  CHARACTER_SET_NAME: string | null;
  COLUMN_TYPE: string;
  ENUM_VALUES?: string[];
  SET_VALUES?: string[];
}

/**
 * Gives every character column of a TableMap the charset of its collation id by the server's list,
 * where zongji took another: the charset its rows are decoded by (zongji's column, and the
 * CHARACTER_SET_NAME sluice's SourceColumn takes), the character length of CHAR and VARCHAR (zongji
 * divides the byte length by the wrong charset's bytes per character), and the ENUM and SET members
 * (zongji decoded their bytes by the wrong charset). Must run on every TableMap event before
 * readSingleByteTextAsBytes, which then sends the 8-bit charsets down the raw-bytes path. A column
 * already right (described by information_schema, or fixed on an earlier TableMap of a table zongji
 * keeps) is left alone.
 *
 * Returns the error that must stop the table when a column's collation id is not on the list, or its
 * members cannot be decoded; the stream decides whether the table is captured.
 */
export function applyServerCollations(event: TableMapCharsetEvent, collations: CollationCharsets): SluiceError | undefined {
  const ids = event._columnCharsetIds;
  const tableMap = event.tableMap?.[event.tableId ?? -1] as { columns?: HookColumn[]; columnSchemas?: HookColumnSchema[]; parentSchema?: string; tableName?: string } | undefined;
  const columns = tableMap?.columns;
  const schemas = tableMap?.columnSchemas;
  if (!ids || !columns || !schemas) return undefined;
  const table = `${tableMap.parentSchema ?? event.schemaName}.${tableMap.tableName ?? event.tableName}`;
  const problems: string[] = [];
  let firstProblem: { column: string; collationId?: number } | undefined;
  ids.forEach((id, index) => {
    const column = columns[index];
    const schema = schemas[index];
    if (id === undefined || id === BINARY_COLLATION_ID || !column || !schema) return;
    const charset = collations.charsetOf(id);
    if (charset === undefined) {
      problems.push(`column ${schema.COLUMN_NAME} has collation id ${id}, which is not among the server's collations (${collations.source === 'server' ? 'information_schema.COLLATIONS' : "sluice's built-in list of MariaDB 10.11's, as the server's could not be read"})`);
      firstProblem ??= { column: schema.COLUMN_NAME, collationId: id };
      return;
    }
    if (schema.CHARACTER_SET_NAME === charset) return;
    schema.CHARACTER_SET_NAME = charset;
    // null: already handed over as bytes (readSingleByteTextAsBytes), which holds for any charset.
    if (column.charset !== null) column.charset = charset;
    const maxBytes = collations.maxBytesPerChar(charset) ?? 4;
    const maxLength = Number(column.metadata?.max_length);
    switch (column.type) {
      case MYSQL_TYPE_VARCHAR:
      case MYSQL_TYPE_STRING:
        // Binlog metadata has byte lengths; information_schema counts characters.
        if (Number.isFinite(maxLength)) schema.COLUMN_TYPE = schema.COLUMN_TYPE.replace(/^(char|varchar)\(\d+\)/i, `$1(${Math.floor(maxLength / maxBytes)})`);
        return;
      case MYSQL_TYPE_VARCHAR_COMPRESSED:
        // max_length holds one byte of the compression header.
        if (Number.isFinite(maxLength)) schema.COLUMN_TYPE = schema.COLUMN_TYPE.replace(/^varchar\(\d+\)/i, `varchar(${Math.floor((maxLength - 1) / maxBytes)})`);
        return;
      case MYSQL_TYPE_ENUM:
      case MYSQL_TYPE_SET: {
        const members = event._enumSetValues?.[index];
        // 8-bit charsets: readSingleByteTextAsBytes decodes the members by MySQL's own tables.
        if (!members || isSingleByteCharset(charset)) return;
        let names: string[];
        try {
          names = members.map((bytes) => decodeText(bytes, { name: schema.COLUMN_NAME, mysqlType: column.type === MYSQL_TYPE_ENUM ? 'enum' : 'set', charset }));
        } catch (error) {
          problems.push(`the members of column ${schema.COLUMN_NAME} cannot be decoded: ${(error as Error).message}`);
          firstProblem ??= { column: schema.COLUMN_NAME };
          return;
        }
        const keyword = column.type === MYSQL_TYPE_ENUM ? 'enum' : 'set';
        // zongji's spelling of the type, around the members as the server reads them.
        schema.COLUMN_TYPE = `${keyword}(${names.map((name) => `'${name.replace(/'/g, "''")}'`).join(',')})`;
        if (keyword === 'enum') schema.ENUM_VALUES = names;
        else schema.SET_VALUES = names;
        return;
      }
    }
  });
  if (problems.length === 0) return undefined;
  return new SluiceError(
    'SLUICE_SCHEMA_UNSUPPORTED',
    `table ${table}: ${problems.join('; ')}. sluice does not know which character set the column's bytes are in and will not guess ` +
      '(a wrong guess corrupts text silently). Exclude the table (routing.exclude), or change the column to a collation the server lists.',
    { context: { table, columnName: firstProblem!.column, ...(firstProblem!.collationId !== undefined ? { collationId: firstProblem!.collationId } : {}) } },
  );
}

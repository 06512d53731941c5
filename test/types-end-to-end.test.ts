// The type acceptance test: edge values of every MySQL/MariaDB type (max and min, NULL, empty, emoji,
// \x01 and newlines inside strings, 0x00/0xFF bytes) are inserted, updated and deleted on the private
// MariaDB under a non-UTC session time zone; the real daemon captures them into Hive changelog tables,
// in text and in Parquet, once under TZ=Asia/Shanghai and once under TZ=UTC; and the tables are read
// back with the real `sluice query --json`, as a user would. Every value of every change must equal,
// value by value, what MariaDB's own SELECT says the row held at that moment.
//
// The contract (docs/type-mapping.md and docs/commands.md): `sluice query --json` prints one JSON object
// per row, every value as text or null (NULL). For each MySQL type: the Hive type, the text sluice
// query prints, the MariaDB expression that prints the same value, and how the two are compared.
//
// - integers, BOOL, ZEROFILL: tinyint..bigint or decimal(20,0); exact digits = CAST(c AS CHAR)
//   (CAST(c + 0 AS CHAR) for ZEROFILL, whose padding is display only); same text.
// - DECIMAL(p,s): decimal(p,s), or string when p > 38; exact, all s fraction digits = CAST(c AS CHAR).
// - FLOAT: float; the shortest text of the 32-bit float = CAST(CAST(c AS DOUBLE) AS CHAR), which is
//   the stored float exactly (MariaDB prints FLOAT itself with 6 digits); same float, shortest text.
// - DOUBLE: double; the shortest text of the double = CAST(c AS CHAR); the same double.
// - BIT(n): bigint, decimal(20,0) for BIT(64); the bits as an unsigned integer = CAST(c + 0 AS CHAR).
// - YEAR: int; the year, the zero year 0000 as 0 = CAST(c + 0 AS CHAR).
// - DATE, DATETIME(n), TIME(n): string; the server's own text, zero dates included = CAST(c AS CHAR).
// - TIMESTAMP(n): string; UTC text 'YYYY-MM-DD hh:mm:ss[.ffffff]', compared as the instant it names
//   with UNIX_TIMESTAMP(c), so no session time zone enters (the zero timestamp is 0, as
//   UNIX_TIMESTAMP gives it; no real TIMESTAMP is 0).
// - CHAR/VARCHAR/TEXT (utf8mb4, utf8mb3, latin1), ENUM, SET: string; the text in UTF-8 = c, as the
//   client library decodes it; same text. JSON (a LONGTEXT on MariaDB): its text = CAST(c AS CHAR).
// - BINARY/VARBINARY/BLOB: binary; '0x' + lower-case hex of the bytes = HEX(c).
// - GEOMETRY and its subtypes: binary; '0x' + hex of the WKB = HEX(ST_AsBinary(c)).
// - UUID, INET4, INET6: binary (*); '0x' + hex of the bytes = HEX(CAST(c AS BINARY(16 or 4))).
//
// (*) docs/known-limits.md: MariaDB's binlog (binlog_row_metadata=FULL) does not tell UUID/INET4/
// INET6 from BINARY(n), so the daemon, which takes types from the TableMap, makes them Hive binary
// holding the value's bytes in network/RFC order (what CAST(... AS BINARY(n)) gives), not the text
// the type table promises for a type known from information_schema.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { it } from 'node:test';
import { markdownTypeTable } from '../src/catalog/type-mapping.ts';
import { gtidBinlogPos, waitForCheckpoint } from './helpers/daemon.ts';
import { REPO_ROOT, testMariaDb } from './helpers/servers.ts';
import { COMMON_SCALARS, describeTypesEndToEnd, SHAPES, TEXT, type Column } from './helpers/types-end-to-end.ts';

const SCALARS: Column[] = [
  ...COMMON_SCALARS,
  { ...TEXT('j', 'json', [`'{"a": 12345678901234567890, "b": [1.5, "x"], "c": "\\\\u00e9 😀\\\\n"}'`, "'[]'", "'null'", `'"\\\\u0001"'`, "'{}'"]), mysql: 'CAST(j AS CHAR)' },
  {
    name: 'u',
    ddl: 'uuid',
    values: ["'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'", "'6ccd780c-baba-1026-9564-5b8c656024db'", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'"],
    mysql: 'HEX(CAST(u AS BINARY(16)))',
    form: 'hex',
    hive: 'binary',
  },
  {
    name: 'i6',
    ddl: 'inet6',
    values: ["'::'", "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'", "'::ffff:1.2.3.4'", "'2001:db8::1'", "'::1'"],
    mysql: 'HEX(CAST(i6 AS BINARY(16)))',
    form: 'hex',
    hive: 'binary',
  },
  { name: 'i4', ddl: 'inet4', values: ["'0.0.0.0'", "'255.255.255.255'", "'10.0.0.1'"], mysql: 'HEX(CAST(i4 AS BINARY(4)))', form: 'hex', hive: 'binary' },
];

describeTypesEndToEnd({
  label: 'MariaDB',
  server: testMariaDb,
  tables: [
    { name: 'scalars', columns: SCALARS },
    { name: 'shapes', columns: SHAPES },
  ],
  head: gtidBinlogPos,
  waitForCheckpoint: (_server, workspace, end, daemon) => waitForCheckpoint(workspace, end, 45_000, daemon),
});

it("keeps docs/type-mapping.md's type table the one the code generates", async () => {
  const page = await readFile(join(REPO_ROOT, 'docs/type-mapping.md'), 'utf8');
  assert.ok(page.includes(markdownTypeTable()), 'docs/type-mapping.md type table differs from markdownTypeTable() in src/catalog/type-mapping.ts');
});

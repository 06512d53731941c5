// The type acceptance test (test/types-end-to-end.test.ts states the contract) on Oracle MySQL 9.7:
// the columns both servers have, plus what MySQL alone writes: binary JSON (nested, 64-bit and
// 64-bit numbers, temporal and binary opaque values), and text under MySQL's default collation
// utf8mb4_0900_ai_ci and others; VECTOR(n), as its bytes. Part of JSON is not decoded right yet (see below).
// Every value is compared with MySQL's own SELECT, in text and Parquet, under two process time zones.
import { gtidExecuted, waitForMySqlCheckpoint } from './helpers/mysql-gtid.ts';
import { testMysql } from './helpers/servers.ts';
import { BYTES, COMMON_SCALARS, describeTypesEndToEnd, INT, NINES, SHAPES, TEXT, type Column } from './helpers/types-end-to-end.ts';

/**
 * MySQL prints binary JSON in its own text form: CAST(j AS CHAR) is the reference (sluice decodes
 * MySQL's binary JSON itself, src/sources/binlog/decode/mysql-json.ts): doubles as MySQL prints them (1.0,
 * 1e21, 0.0000001, -0.0), DECIMAL, temporal and binary opaque values (base64 broken into lines past
 * 57 bytes), keys that look like integers in MySQL's order, and documents past 64 KiB (MySQL's large
 * form, 4-byte offsets).
 */
const JSON_COLUMN: Column = {
  ...TEXT('j', 'json', [
    `'{"a": 12345678901234567890, "b": [1.5, "x"], "c": "\\\\u00e9 😀\\\\n", "nested": {"deep": [[], {}, [null, true, false]]}}'`,
    `'[0.1, 1.5e-3, 18446744073709551615, -9223372036854775808, 9223372036854775807, 32767, -32768, 2147483648, 4294967296]'`,
    "'null'",
    `'"\\\\u0001\\\\u001f/\\\\""'`,
    "'{}'",
    "JSON_OBJECT('d', DATE'2024-02-29', 't', TIME'-12:00:01.5', 'dt', TIMESTAMP'2024-01-02 03:04:05.25', 'bin', CAST(x'00FF' AS BINARY))",
    `'[1.0, 1e21, 0.0000001, -0.0, 0.0, 1e-16, 1234567890123456.8, 5e-324, 1.7976931348623157e308, -2.5e-7]'`,
    "JSON_ARRAY(CAST('12.50' AS DECIMAL(10,2)), CAST('-0.000000000000000000000000000001' AS DECIMAL(65,30)), CAST(99999999999999999999999999999999999 AS DECIMAL(65,0)), CAST(0 AS DECIMAL(4,2)))",
    `JSON_OBJECT('long', CAST(REPEAT(x'00FF7F80', 40) AS BINARY), 'short', CAST(x'' AS BINARY), 'ts', CAST(TIMESTAMP'1999-12-31 23:59:59.999999' AS DATETIME(6)), 'time', TIME'838:59:59')`,
    `'{"10": 1, "9": 2, "b": 3, "a": 4, "": 5}'`,
    `JSON_OBJECT('big', REPEAT('x', 70000), 'n', 1.5, 'list', JSON_ARRAY(1, 2.25, 'é', 70000, -70000, 4294967295, true, NULL))`,
    `JSON_ARRAY(REPEAT('ab', 40000), JSON_OBJECT('k', 1e21), 2147483647, -2147483648, 65535, 65536)`,
  ]),
  mysql: 'CAST(j AS CHAR)',
};

const SCALARS: Column[] = [
  // MySQL's DECIMAL scale stops at 30 (MariaDB's at 38).
  ...COMMON_SCALARS.filter((column) => column.name !== 'd3838'),
  INT('d3830', 'decimal(38,30)', [`-${NINES(8)}.${NINES(30)}`, `${NINES(8)}.${NINES(30)}`, '0', '0.000000000000000000000000000001']),
  // VECTOR (type 242), which zongji 0.9 does not know: its one TableMap metadata byte and its place in
  // the charset list must be read, or every later column's metadata is shifted (zongji-table-map.ts).
  // Before the JSON and text columns, so that a misread shows in them too.
  BYTES('vec3', 'vector(3)', ["STRING_TO_VECTOR('[1.5,-2,3e10]')", "STRING_TO_VECTOR('[0,-0,-1e-30]')", "STRING_TO_VECTOR('[3.4028234e38,-1,0.1]')"]),
  BYTES('vecd', 'vector', ["STRING_TO_VECTOR('[0.1]')", `STRING_TO_VECTOR('[${Array.from({ length: 300 }, (_, index) => index / 7).join(',')}]')`]),
  JSON_COLUMN,
  TEXT('c0900', 'varchar(40) COLLATE utf8mb4_0900_ai_ci', ["'Straße 😀 e\u0301'", "''", "'ÅÄÖ'"]),
  TEXT('cas', 'varchar(40) COLLATE utf8mb4_0900_as_cs', ["'日本語'", "'A'"]),
  TEXT('cbin', 'text COLLATE utf8mb4_bin', ["'🐬\\n'", "''"]),
];

describeTypesEndToEnd({
  label: 'MySQL 9.7',
  server: testMysql,
  tables: [
    { name: 'scalars', columns: SCALARS },
    { name: 'shapes', columns: SHAPES },
  ],
  head: gtidExecuted,
  waitForCheckpoint: (server, workspace, end, daemon) => waitForMySqlCheckpoint(server, workspace, end, daemon, 45_000),
});

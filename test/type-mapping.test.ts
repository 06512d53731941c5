import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hiveTypeFor, markdownTypeTable, parseMysqlType, TYPE_MAPPING_ROWS } from '../src/catalog/type-mapping.ts';
import { isSluiceError } from '../src/core/errors.ts';

// COLUMN_TYPE spellings as MySQL 8, MariaDB 10.11 and zongji's FULL-metadata TableMap give them.
const EXPECTED: [string, string][] = [
  ['tinyint', 'tinyint'],
  ['tinyint(4)', 'tinyint'],
  ['tinyint(1)', 'tinyint'],
  ['tinyint unsigned', 'smallint'],
  ['tinyint(3) unsigned zerofill', 'smallint'],
  ['smallint(6)', 'smallint'],
  ['smallint unsigned', 'int'],
  ['mediumint', 'int'],
  ['mediumint(8) unsigned', 'int'],
  ['int', 'int'],
  ['int(11)', 'int'],
  ['int unsigned', 'bigint'],
  ['int(10) unsigned', 'bigint'],
  ['bigint', 'bigint'],
  ['bigint(20)', 'bigint'],
  ['bigint unsigned', 'decimal(20,0)'],
  ['bigint(20) unsigned', 'decimal(20,0)'],
  ['decimal(10,2)', 'decimal(10,2)'],
  ['decimal(10,2) unsigned', 'decimal(10,2)'],
  ['decimal(38,38)', 'decimal(38,38)'],
  ['decimal(39,0)', 'string'],
  ['decimal(65,30)', 'string'],
  ['decimal', 'decimal(10,0)'],
  ['decimal(12)', 'decimal(12,0)'],
  ['float', 'float'],
  ['float unsigned', 'float'],
  ['float(7,4)', 'float'],
  ['double', 'double'],
  ['double(10,2)', 'double'],
  ['double precision', 'double'],
  ['real', 'double'],
  ['bit(1)', 'bigint'],
  ['bit(10)', 'bigint'],
  ['bit(63)', 'bigint'],
  ['bit(64)', 'decimal(20,0)'],
  ['bit', 'bigint'],
  ['year', 'int'],
  ['year(4)', 'int'],
  ['date', 'string'],
  ['datetime', 'string'],
  ['datetime(6)', 'string'],
  ['datetime(3) /* mariadb-5.3 */', 'string'],
  ['timestamp', 'string'],
  ['timestamp(6)', 'string'],
  ['time', 'string'],
  ['time(6)', 'string'],
  ['char(1)', 'string'],
  ['varchar(20)', 'string'],
  ['varchar(255) /*M!100301 COMPRESSED*/', 'string'],
  ['tinytext', 'string'],
  ['text', 'string'],
  ['mediumtext', 'string'],
  ['longtext', 'string'],
  ['binary(16)', 'binary'],
  ['varbinary(255)', 'binary'],
  ['tinyblob', 'binary'],
  ['blob', 'binary'],
  ['mediumblob', 'binary'],
  ['longblob', 'binary'],
  ['blob /*M!100301 COMPRESSED*/', 'binary'],
  ["enum('a','b')", 'string'],
  ["enum('x) unsigned','y')", 'string'],
  ["set('x','y','z')", 'string'],
  ['json', 'string'],
  ['geometry', 'binary'],
  ['point', 'binary'],
  ['linestring', 'binary'],
  ['polygon', 'binary'],
  ['multipoint', 'binary'],
  ['multilinestring', 'binary'],
  ['multipolygon', 'binary'],
  ['geometrycollection', 'binary'],
  ['geomcollection', 'binary'],
  ['uuid', 'string'],
  ['inet4', 'string'],
  ['inet6', 'string'],
  ['vector(3)', 'binary'],
  ['INT UNSIGNED', 'bigint'],
];

describe('MySQL to Hive type mapping', () => {
  for (const [mysql, hive] of EXPECTED) {
    it(`${mysql} -> ${hive}`, () => assert.equal(hiveTypeFor(mysql), hive));
  }

  it('names an unknown type in a SLUICE_SCHEMA_UNSUPPORTED error', () => {
    assert.throws(
      () => hiveTypeFor('frobnicator(3)'),
      (error) => isSluiceError(error, 'SLUICE_SCHEMA_UNSUPPORTED') && /'frobnicator\(3\)'/.test(error.message),
    );
  });

  it('parses the parts of a type', () => {
    assert.deepEqual(parseMysqlType('Decimal(10, 2) UNSIGNED ZEROFILL'), {
      text: 'decimal(10, 2) unsigned zerofill',
      name: 'decimal',
      args: [10, 2],
      unsigned: true,
    });
    assert.equal(parseMysqlType("enum('a','b') ").name, 'enum');
  });

  it('matches every type with exactly one row, so the table has no shadowed rows', () => {
    for (const [mysql] of EXPECTED) {
      const parsed = parseMysqlType(mysql);
      assert.equal(TYPE_MAPPING_ROWS.filter((row) => row.matches(parsed)).length, 1, mysql);
    }
  });

  it('renders the docs/type-mapping.md table from the same rows', () => {
    const table = markdownTypeTable();
    const lines = table.trimEnd().split('\n');
    assert.equal(lines.length, TYPE_MAPPING_ROWS.length + 2);
    assert.match(table, /\| bigint unsigned, serial \| decimal\(20,0\) \|/);
    for (const line of lines) assert.match(line, /^\|.*\|$/);
  });
});

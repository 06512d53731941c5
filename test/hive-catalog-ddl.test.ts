// The HiveQL the HiveServer2 catalog builds and the answers it parses, without a server: quoting,
// literals, and the DESCRIBE FORMATTED shapes of Hive versions other than the test server's 4.1.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  addColumnsStatement,
  addPartitionStatement,
  changeColumnTypeStatement,
  createTableStatement,
  quoteIdentifier,
  stringLiteral,
} from '../src/catalog/hive-ddl.ts';
import { effectiveTextSerdeProperties, parseDescribeFormatted, parsePartitionName, unescapeJava } from '../src/catalog/hive-describe.ts';
import { HiveConnection } from '../src/catalog/hive-connection.ts';
import { fromHiveUri, parseDefaultFs, toHiveUri } from '../src/catalog/hive-location.ts';
import { TEXT_SERDE_PROPERTIES, TEXT_STORAGE_DDL } from '../src/catalog/hive-text-table.ts';

test('identifiers are backticked with backticks doubled; literals escape quotes, backslashes and line ends', () => {
  assert.equal(quoteIdentifier('_op'), '`_op`');
  assert.equal(quoteIdentifier('we`ird'), '`we``ird`');
  assert.equal(stringLiteral("it's"), "'it\\'s'");
  assert.equal(stringLiteral('a\\b\nc\rd'), "'a\\\\b\\nc\\rd'");
  assert.throws(() => quoteIdentifier(''), /empty name/);
});

test('CREATE TABLE is EXTERNAL, partitioned, with the codec\'s storage clause; a type outside the known set is refused', () => {
  const statement = createTableStatement(
    {
      database: 'ods',
      name: 'orders',
      columns: [
        { name: 'id', type: 'bigint' },
        { name: 'amount', type: 'DECIMAL(20, 0)' },
      ],
      partitionColumns: [{ name: 'dt', type: 'string' }],
      format: 'text',
      location: '/w/ods.db/orders',
    },
    'hdfs://nn:8020/w/ods.db/orders',
  );
  assert.equal(
    statement,
    'CREATE EXTERNAL TABLE IF NOT EXISTS `ods`.`orders` (`id` bigint, `amount` decimal(20,0)) PARTITIONED BY (`dt` string) ' +
      `${TEXT_STORAGE_DDL} LOCATION 'hdfs://nn:8020/w/ods.db/orders'`,
  );
  assert.throws(() => changeColumnTypeStatement('ods', 'orders', 'id', 'int; DROP TABLE x'), /does not create in Hive/);
  // CASCADE reaches the partitions; Hive refuses it on a table without any (a materialized snapshot).
  assert.equal(addColumnsStatement('ods', 'orders', [{ name: 'n', type: 'int' }]), 'ALTER TABLE `ods`.`orders` ADD COLUMNS (`n` int) CASCADE');
  assert.equal(addColumnsStatement('ods', 'orders_snapshot', [{ name: 'n', type: 'int' }], false), 'ALTER TABLE `ods`.`orders_snapshot` ADD COLUMNS (`n` int)');
  assert.equal(changeColumnTypeStatement('ods', 'orders_snapshot', 'n', 'bigint', false), 'ALTER TABLE `ods`.`orders_snapshot` CHANGE COLUMN `n` `n` bigint');
  assert.equal(
    addPartitionStatement('ods', 'orders', { dt: '2026-11-25', hr: '03' }, 'hdfs://nn:8020/w/ods.db/orders/dt=2026-11-25/hr=03'),
    "ALTER TABLE `ods`.`orders` ADD IF NOT EXISTS PARTITION (`dt`='2026-11-25', `hr`='03') LOCATION 'hdfs://nn:8020/w/ods.db/orders/dt=2026-11-25/hr=03'",
  );
});

test('DESCRIBE FORMATTED as Hive 2/3 print it (a "# col_name" header first) parses the same', () => {
  const row = (col_name: string, data_type: string | null, comment: string | null) => ({ col_name, data_type, comment });
  const described = parseDescribeFormatted([
    row('# col_name            ', 'data_type           ', 'comment             '),
    row('', null, null),
    row('id                  ', 'bigint              ', ''),
    row('Note                ', 'varchar(10)         ', 'a comment'),
    row('', null, null),
    row('# Partition Information', null, null),
    row('# col_name            ', 'data_type           ', 'comment             '),
    row('', null, null),
    row('dt                  ', 'string              ', ''),
    row('', null, null),
    row('# Detailed Table Information', null, null),
    row('Database:           ', 'ods                 ', null),
    row('Location:           ', 'hdfs://nn:8020/w/ods.db/orders', null),
    row('Table Type:         ', 'EXTERNAL_TABLE      ', null),
    row('Table Parameters:', null, null),
    row('', 'EXTERNAL            ', 'TRUE                '),
    row('', null, null),
    row('# Storage Information', null, null),
    row('SerDe Library:      ', 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe', null),
    row('InputFormat:        ', 'org.apache.hadoop.mapred.TextInputFormat', null),
    row('OutputFormat:       ', 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat', null),
    row('Storage Desc Params:', null, null),
    row('', 'escape.delim        ', '\\\\                  '),
    row('', 'field.delim         ', '\\u0001              '),
    row('', 'serialization.escape.crlf', 'true                '),
    row('', 'serialization.null.format', '\\\\N                 '),
    row('', null, null),
    row('# Constraints', null, null),
    row('', 'Primary Key', 'id'),
  ]);
  assert.deepEqual(described.columns, [
    { name: 'id', type: 'bigint' },
    { name: 'note', type: 'varchar(10)' },
  ]);
  assert.deepEqual(described.partitionColumns, [{ name: 'dt', type: 'string' }]);
  assert.equal(described.location, 'hdfs://nn:8020/w/ods.db/orders');
  assert.equal(described.tableType, 'EXTERNAL_TABLE');
  assert.equal(described.tableParameters.EXTERNAL, 'TRUE');
  assert.deepEqual(effectiveTextSerdeProperties(described.storageParameters), TEXT_SERDE_PROPERTIES);
});

test('SerDe defaults and spellings are read as LazySimpleSerDe reads them', () => {
  // A plain STORED AS TEXTFILE table: \x01 fields (serialization.format=1 is byte 1), and no escaping.
  assert.deepEqual(effectiveTextSerdeProperties({ 'serialization.format': '1' }), {
    'field.delim': '\u0001',
    'escape.delim': undefined,
    'serialization.null.format': '\\N',
    'serialization.escape.crlf': 'false',
  });
  assert.equal(effectiveTextSerdeProperties({ 'field.delim': '9' })['field.delim'], '\t');
  assert.equal(unescapeJava('{\\"a\\":\\u00e9\\\\}'), '{"a":é\\}');
  assert.deepEqual(parsePartitionName('dt=2026-11-25/hr=a b%2Fc%3D'), { values: { dt: '2026-11-25', hr: 'a b/c=' }, path: 'dt=2026-11-25/hr=a b%2Fc%3D' });
});

test('locations: a path becomes a URI on fs.defaultFS, and a URI on another file system is refused', () => {
  const fs = parseDefaultFs('hdfs://NN.example:8020/');
  assert.equal(toHiveUri(fs, '/w//ods.db/orders/'), 'hdfs://nn.example:8020/w/ods.db/orders');
  assert.equal(fromHiveUri(fs, 'hdfs://nn.example:8020/w/ods.db/orders', 'it'), '/w/ods.db/orders');
  assert.throws(() => fromHiveUri(fs, 's3a://bucket/w/orders', 'table ods.orders'), /table ods\.orders is at s3a:\/\/bucket\/w\/orders, which is not on hdfs:\/\/nn\.example:8020/);
  assert.throws(() => parseDefaultFs('namenode:8020'), /not a file system URI/);
  // A warehouse on local disk: Hive reports 'file:/path' (Hadoop's Path drops the empty authority).
  assert.equal(fromHiveUri(parseDefaultFs('file:///'), 'file:/w/ods.db/orders', 'it'), '/w/ods.db/orders');
});

test('Kerberos is refused up front as not supported yet, and so is NOSASL over http', () => {
  assert.throws(() => new HiveConnection({ host: 'hs2', port: 10000, authentication: 'KERBEROS' }), /Kerberos authentication is not supported yet/);
  assert.throws(() => new HiveConnection({ host: 'hs2', port: 10001, transport: 'http', authentication: 'NOSASL' }), /over http does not speak NOSASL/);
});

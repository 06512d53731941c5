// How a Hive table reads the text files sluice writes (sinks/hive-text-codec.ts writes them): the
// SerDe and its properties, as the metastore stores them and as a CREATE TABLE spells them.

/**
 * The SERDEPROPERTIES a Hive table needs to read these files the way they were written (values as
 * the metastore stores them: the real characters, not DDL escapes).
 */
export const TEXT_SERDE_PROPERTIES: Readonly<Record<string, string>> = Object.freeze({
  'field.delim': '\u0001',
  'escape.delim': '\\',
  'serialization.null.format': '\\N',
  'serialization.escape.crlf': 'true',
});

/**
 * The storage clause of a CREATE TABLE for these files. Inside a HiveQL string literal '\001' is the
 * byte 1 and '\\' one backslash (BaseSemanticAnalyzer.unescapeSQLString).
 */
export const TEXT_STORAGE_DDL =
  "ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe' " +
  "WITH SERDEPROPERTIES ('field.delim'='\\001', 'escape.delim'='\\\\', " +
  "'serialization.null.format'='\\\\N', 'serialization.escape.crlf'='true') " +
  'STORED AS TEXTFILE';

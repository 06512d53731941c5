// Reads rows of a table as sluice carries values (CellValue): exact text for numbers and temporals,
// bytes for binary columns, null for NULL; the same forms the binlog path produces, so a table copied
// in batch and its changelog read the same.
import type mysql from 'mysql2/promise';
import type { CellValue, SourceColumn } from '../../core/change-event.ts';
import { shortestDouble, shortestFloat32 } from '../binlog/decode/cell-decoder.ts';
import { quoteIdentifier } from '../../core/mysql-connect.ts';

const BYTE_TYPES = new Set(['TINY_BLOB', 'MEDIUM_BLOB', 'LONG_BLOB', 'BLOB', 'VAR_STRING', 'STRING', 'VARCHAR', 'GEOMETRY', 'BIT', 'JSON']);

/**
 * mysql2's typeCast: string and blob fields as bytes (its wrapped field does not say whether the
 * column is binary, information_schema does: see canonicalValue), everything else as the text the
 * server prints.
 */
export const exactTypeCast: mysql.TypeCast = (field, next) => {
  void next;
  if (BYTE_TYPES.has(field.type)) return field.buffer();
  return field.string();
};

type DataTypeOf = Pick<SourceColumn, 'name' | 'mysqlType' | 'charset'> & { dataType: string };

/**
 * The SELECT expression that yields a column's exact value as text. BIT is read as the unsigned
 * integer its bits spell (as the type mapping says); FLOAT is widened to the exact double of the
 * stored float, because MySQL prints a FLOAT with only 6 digits.
 */
export function selectExpression(column: DataTypeOf): string {
  const name = quoteIdentifier(column.name);
  if (column.dataType === 'bit') return `CAST(${name} AS UNSIGNED)`;
  if (column.dataType === 'float') return `CAST(${name} AS DOUBLE)`;
  return name;
}

/** Turns what the SELECT gave into the canonical value. */
export function canonicalValue(column: DataTypeOf, raw: CellValue): CellValue {
  if (raw === null) return raw;
  // The session's character set is utf8mb4, so the server sends every text column as UTF-8.
  if (typeof raw !== 'string') return column.charset === null ? raw : raw.toString('utf8');
  if (column.dataType === 'float') return shortestFloat32(Number(raw));
  if (column.dataType === 'double') return shortestDouble(Number(raw));
  return raw;
}

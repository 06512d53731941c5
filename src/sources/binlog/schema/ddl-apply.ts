// Applies what a DDL statement does (see ddl-statement.ts) to a table's column list, forwards as
// the server did, and, for the few changes whose statement says everything needed, backwards.
import type { AlterAction, ColumnDefinition, DdlEffect, Placement } from './ddl-statement.ts';
import type { TableColumn, TableSchema } from './table-columns.ts';

/** The statement cannot be applied to the columns sluice holds for the table; the message says why. */
export class DdlApplyError extends Error {}

export function schemaOfCreate(effect: Extract<DdlEffect, { kind: 'create' }>): TableSchema {
  return {
    columns: effect.columns.map((definition) => toColumn(definition, effect.defaultCharset)),
    ...(effect.defaultCharset ? { defaultCharset: effect.defaultCharset } : {}),
  };
}

function toColumn(definition: ColumnDefinition, defaultCharset: string | undefined): TableColumn {
  return {
    name: definition.name,
    type: definition.type,
    charset: definition.charset ?? (definition.text ? (defaultCharset ?? null) : null),
    ...(definition.members ? { members: definition.members } : {}),
  };
}

const same = (left: string, right: string): boolean => left.toLowerCase() === right.toLowerCase();

/**
 * ALTER TABLE as MySQL carries it out (mysql_prepare_alter_table): first the existing columns in
 * their order, without the dropped ones, with the renamed and the in-place changed ones replaced;
 * then, in statement order, the added columns and those changed with FIRST / AFTER, each inserted
 * where its placement says, AFTER naming a column of the list being built.
 */
export function applyAlter(schema: TableSchema, actions: readonly AlterAction[]): TableSchema {
  let defaultCharset = schema.defaultCharset;
  for (const action of actions) {
    if (action.kind === 'default-charset' || action.kind === 'convert-charset') defaultCharset = action.charset;
  }
  const exists = (name: string): boolean => schema.columns.some((column) => same(column.name, name));
  for (const action of actions) {
    const target = action.kind === 'drop' ? action.name : action.kind === 'change' || action.kind === 'rename-column' ? action.from : undefined;
    if (target !== undefined && !exists(target) && !('ifExists' in action && action.ifExists)) {
      throw new DdlApplyError(`it names column ${target}, which the table does not have as sluice knows it (${names(schema.columns)})`);
    }
  }
  const columns: TableColumn[] = [];
  for (const column of schema.columns) {
    if (actions.some((action) => action.kind === 'drop' && same(action.name, column.name))) continue;
    const change = actions.find((action) => action.kind === 'change' && same(action.from, column.name)) as Extract<AlterAction, { kind: 'change' }> | undefined;
    if (change) {
      if (!change.placement) columns.push(toColumn(change.column, defaultCharset));
      continue;
    }
    const rename = actions.find((action) => action.kind === 'rename-column' && same(action.from, column.name)) as Extract<AlterAction, { kind: 'rename-column' }> | undefined;
    columns.push(rename ? { ...column, name: rename.to } : column);
  }
  for (const action of actions) {
    if (action.kind === 'add') {
      for (const definition of action.columns) {
        if (columns.some((column) => same(column.name, definition.name))) {
          if (action.ifNotExists) continue;
          throw new DdlApplyError(`it adds column ${definition.name}, which the table already has as sluice knows it (${names(columns)})`);
        }
        insert(columns, toColumn(definition, defaultCharset), action.placement);
      }
    } else if (action.kind === 'change' && action.placement && exists(action.from)) {
      insert(columns, toColumn(action.column, defaultCharset), action.placement);
    }
  }
  const converted = actions.find((action) => action.kind === 'convert-charset');
  const result = converted
    ? columns.map((column) => (column.charset !== null && column.charset !== 'binary' ? { ...column, charset: converted.charset } : column))
    : columns;
  return { columns: result, ...(defaultCharset ? { defaultCharset } : {}) };
}

function insert(columns: TableColumn[], column: TableColumn, placement: Placement | undefined): void {
  if (!placement) {
    columns.push(column);
  } else if ('first' in placement) {
    columns.unshift(column);
  } else {
    const index = columns.findIndex((existing) => same(existing.name, placement.after));
    if (index < 0) throw new DdlApplyError(`it places column ${column.name} after ${placement.after}, which the table does not have as sluice knows it (${names(columns)})`);
    columns.splice(index + 1, 0, column);
  }
}

/**
 * The columns before an ALTER TABLE, from the columns after it. Only ADD COLUMN, RENAME COLUMN and
 * specifications that touch no column can be undone: a dropped or changed column's old type and
 * place are not in the statement.
 */
export function undoAlter(schema: TableSchema, actions: readonly AlterAction[]): TableSchema {
  let columns = [...schema.columns];
  for (const action of [...actions].reverse()) {
    switch (action.kind) {
      case 'add':
        for (const definition of action.columns) {
          const index = columns.findIndex((column) => same(column.name, definition.name));
          if (index < 0) {
            if (action.ifNotExists) throw new DdlApplyError(`ADD COLUMN IF NOT EXISTS ${definition.name} cannot be undone: the column may have been there before`);
            throw new DdlApplyError(`it adds column ${definition.name}, which the table does not have now`);
          }
          columns = columns.filter((_, position) => position !== index);
        }
        break;
      case 'rename-column': {
        const index = columns.findIndex((column) => same(column.name, action.to));
        if (index < 0) throw new DdlApplyError(`it renames a column to ${action.to}, which the table does not have now`);
        columns = columns.map((column, position) => (position === index ? { ...column, name: action.from } : column));
        break;
      }
      case 'default-charset':
        break;
      case 'drop':
        throw new DdlApplyError(`DROP COLUMN ${action.name} cannot be undone: the statement does not say the column's type or place`);
      case 'change':
        throw new DdlApplyError(`CHANGE/MODIFY COLUMN ${action.from} cannot be undone: the statement does not say the column's old definition`);
      case 'convert-charset':
        throw new DdlApplyError('CONVERT TO CHARACTER SET cannot be undone: the statement does not say the old character sets');
    }
  }
  const { defaultCharset } = schema;
  return { columns, ...(defaultCharset ? { defaultCharset } : {}) };
}

function names(columns: readonly TableColumn[]): string {
  return columns.map((column) => column.name).join(', ');
}

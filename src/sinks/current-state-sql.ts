// The current-state rule in DuckDB's SQL, shared by `sluice query --current` (cli/query-current.ts)
// and the materialization that folds a changelog into a snapshot table (materialize.ts): per primary
// key and `_source` (shards merged into one table are different rows), the row with the highest
// `_seq`, unless that row is a delete or a truncate marker of its `_source` with a higher `_seq`
// covers it. One rule in one place, so the view and the snapshot answer alike over the same rows.
//
// The rule is idempotent over duplicates: a row read twice (from the snapshot and from the changes
// after an older watermark) ranks as one, which is what lets a reader combine a snapshot with the
// changes after any watermark not above the snapshot's.
import type { MetadataNames } from '../catalog/metadata-names.ts';
import { quote } from './warehouse-views.ts';

export interface CurrentStateQuery {
  /** A relation (a view name, or `(SELECT …)`) of changelog rows: the key columns, `_op`, `_seq` and maybe `_source`. */
  from: string;
  key: readonly string[];
  /** Whether the rows carry `_source`; tables written before it existed are of one source. */
  hasSource: boolean;
  /** The select list of the result (quoted columns of `from`). */
  select: string;
  /** The table's metadata column names (catalog/metadata-names.ts). */
  names: MetadataNames;
}

export function currentStateSql(query: CurrentStateQuery): string {
  const [op, seq] = [quote(query.names.op), quote(query.names.seq)];
  const source = query.hasSource ? [quote(query.names.source)] : [];
  const perKey = [...source, ...query.key.map(quote)].join(', ');
  const perSource = source.length > 0 ? `PARTITION BY ${source[0]}` : '';
  // Truncate markers have NULL source columns: their own key group, never the latest row of a real key.
  const ranked =
    `SELECT *, row_number() OVER (PARTITION BY ${perKey} ORDER BY ${seq} DESC) AS "__sluice_rank", ` +
    `max(CASE WHEN ${op} = 'truncate' THEN ${seq} END) OVER (${perSource}) AS "__sluice_truncated" FROM ${query.from}`;
  return (
    `SELECT ${query.select} FROM (${ranked}) ` +
    `WHERE "__sluice_rank" = 1 AND ${op} IN ('insert', 'update', 'read') AND ${seq} > coalesce("__sluice_truncated", -1)`
  );
}

// What to do when a source column's type changes (ALTER TABLE ... MODIFY): keep the Hive column when
// it already holds every new value, widen it where Hive allows the change, and refuse otherwise.

export type TypeDecision = { kind: 'keep' } | { kind: 'widen'; type: string } | { kind: 'incompatible' };

const INTEGER_RANK: Record<string, number> = { tinyint: 1, smallint: 2, int: 3, bigint: 4 };
// Digits an integer type needs left of the decimal point to fit in a decimal.
const INTEGER_DIGITS: Record<string, number> = { tinyint: 3, smallint: 5, int: 10, bigint: 19 };
const HIVE_MAX_PRECISION = 38;

interface Decimal {
  precision: number;
  scale: number;
}

function asDecimal(type: string): Decimal | undefined {
  const found = /^decimal\((\d+),(\d+)\)$/.exec(type);
  if (found) return { precision: Number(found[1]), scale: Number(found[2]) };
  const digits = INTEGER_DIGITS[type];
  return digits === undefined ? undefined : { precision: digits, scale: 0 };
}

/** The decision for a Hive column of type `current` that must now take values of type `incoming`. */
export function reconcileHiveType(current: string, incoming: string): TypeDecision {
  if (current === incoming) return { kind: 'keep' };
  // Binary lives in text files as base64: read as a string it would show base64, not the value.
  if (current === 'binary' || incoming === 'binary') return { kind: 'incompatible' };
  if (current === 'string') return { kind: 'keep' };
  if (incoming === 'string') return { kind: 'widen', type: 'string' };
  const currentRank = INTEGER_RANK[current];
  const incomingRank = INTEGER_RANK[incoming];
  if (currentRank !== undefined && incomingRank !== undefined) {
    return currentRank >= incomingRank ? { kind: 'keep' } : { kind: 'widen', type: incoming };
  }
  if ((current === 'double' && incoming === 'float') || (current === 'float' && incoming === 'double')) {
    return current === 'double' ? { kind: 'keep' } : { kind: 'widen', type: 'double' };
  }
  const left = asDecimal(current);
  const right = asDecimal(incoming);
  if (left && right) {
    const scale = Math.max(left.scale, right.scale);
    const integerDigits = Math.max(left.precision - left.scale, right.precision - right.scale);
    if (integerDigits + scale > HIVE_MAX_PRECISION) return { kind: 'incompatible' };
    const union = `decimal(${integerDigits + scale},${scale})`;
    if (INTEGER_RANK[current] !== undefined) return { kind: 'widen', type: union };
    return union === current ? { kind: 'keep' } : { kind: 'widen', type: union };
  }
  return { kind: 'incompatible' };
}

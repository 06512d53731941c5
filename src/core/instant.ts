// Instants a user names (a start timestamp) and instants the binlog names (event header times, whole
// UTC seconds). A user's instant must carry its zone: the same text read in the process time zone
// would start at a different transaction on every machine.

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;

export const INSTANT_EXAMPLE = "an ISO 8601 instant with its zone, such as '2026-11-25T10:00:00Z' or '2026-11-25T18:00:00+08:00'";

/** Milliseconds since the epoch, or undefined when the text is not an ISO 8601 instant with a zone. */
export function parseInstant(text: string): number | undefined {
  const found = ISO_INSTANT.exec(text.trim());
  if (!found) return undefined;
  const [, year, month, day, hour, minute, second = '0', fraction = '', zulu, sign, zoneHours = '0', zoneMinutes = '0'] = found;
  const fields = { month: Number(month), day: Number(day), hour: Number(hour), minute: Number(minute), second: Number(second) };
  if (fields.month < 1 || fields.month > 12 || fields.hour > 23 || fields.minute > 59 || fields.second > 59) return undefined;
  if (!zulu && (Number(zoneHours) > 23 || Number(zoneMinutes) > 59)) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(Number(year), fields.month - 1, fields.day);
  // 2026-02-30 would roll over into March: refuse it rather than start at a day nobody named.
  if (date.getUTCMonth() !== fields.month - 1 || date.getUTCDate() !== fields.day) return undefined;
  date.setUTCHours(fields.hour, fields.minute, fields.second, Number(fraction.padEnd(3, '0').slice(0, 3)));
  const offsetMinutes = zulu ? 0 : (sign === '-' ? -1 : 1) * (Number(zoneHours) * 60 + Number(zoneMinutes));
  return date.getTime() - offsetMinutes * 60_000;
}

/** A binlog event time (Unix seconds) as the ISO text users write. */
export function formatBinlogTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

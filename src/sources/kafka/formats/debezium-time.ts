// Debezium's and Kafka Connect's temporal encodings (epoch days, milliseconds, microseconds,
// nanoseconds, ISO-8601 with a zone) as the text MySQL would show, in UTC and without a trip through
// the process time zone: the same message gives the same cell on every machine.

const pad = (n: bigint | number, width: number): string => n.toString().padStart(width, '0');

/** io.debezium.time.Date, org.apache.kafka.connect.data.Date: days since 1970-01-01. */
export function epochDaysText(days: bigint): string {
  return utcText(days * 86_400_000_000n).slice(0, 10);
}

/** Microseconds since the epoch as 'YYYY-MM-DD HH:MM:SS.ffffff', UTC; `digits` fraction digits (0 drops the dot). */
export function utcText(micros: bigint, digits = 6): string {
  const dayMicros = 86_400_000_000n;
  let days = micros / dayMicros;
  let rest = micros % dayMicros;
  if (rest < 0n) {
    rest += dayMicros;
    days -= 1n;
  }
  // Civil date from days (Howard Hinnant's algorithm): exact for every year, no Date object involved.
  const z = days + 719_468n;
  const era = (z >= 0n ? z : z - 146_096n) / 146_097n;
  const doe = z - era * 146_097n;
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const day = doy - (153n * mp + 2n) / 5n + 1n;
  const month = mp < 10n ? mp + 3n : mp - 9n;
  const year = yoe + era * 400n + (month <= 2n ? 1n : 0n);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)} ${clockText(rest, digits)}`;
}

/** A time of day (or MySQL TIME's longer span) from microseconds: 'HH:MM:SS.ffffff'. */
export function clockText(micros: bigint, digits = 6): string {
  const sign = micros < 0n ? '-' : '';
  const abs = micros < 0n ? -micros : micros;
  const seconds = abs / 1_000_000n;
  const fraction = pad(abs % 1_000_000n, 6).slice(0, digits);
  return `${sign}${pad(seconds / 3600n, 2)}:${pad((seconds / 60n) % 60n, 2)}:${pad(seconds % 60n, 2)}${digits > 0 ? `.${fraction}` : ''}`;
}

/**
 * io.debezium.time.ZonedTimestamp: ISO-8601 with a zone ('2024-03-01T10:15:30.123456Z',
 * '...+02:00') as UTC text; undefined when it is not one.
 */
export function zonedToUtcText(text: string): string | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = match;
  const seconds = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) / 1000;
  if (!Number.isFinite(seconds)) return undefined;
  const offsetMinutes = zone === 'Z' ? 0 : (zone!.startsWith('-') ? -1 : 1) * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6)));
  // Nanoseconds beyond the sixth digit would be cut: refuse rather than round.
  if (/[1-9]/.test(fraction.slice(6))) return undefined;
  const micros = BigInt(seconds - offsetMinutes * 60) * 1_000_000n + BigInt(fraction.slice(0, 6).padEnd(6, '0'));
  return utcText(micros);
}

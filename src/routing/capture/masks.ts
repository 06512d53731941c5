// Masks: a column's values replaced before they leave the pipeline, so no file, log line or metric
// downstream ever holds them. A hash keeps equal values equal (joins and keys still work) without
// telling them; a fixed mask keeps only whether a value is there (NULL stays NULL either way).
import { createHmac } from 'node:crypto';
import type { CellValue } from '../../core/change-event.ts';

export type MaskKind = 'hash' | 'fixed' | { fixed: string };

export type Masker = (value: CellValue) => CellValue;

/** What `fixed` writes: the same length whatever the value, so that not even its length shows. */
export const FIXED_MASK = '****';

/**
 * `hash`: HMAC-SHA256 of the value's exact text (its bytes, for a binary column) keyed with the
 * salt, as 64 hex digits. Keyed rather than plain so that a hash cannot be reversed by hashing
 * every phone number or every e-mail of a leaked list.
 */
export function maskerFor(kind: MaskKind, salt: string | undefined): Masker {
  if (kind === 'hash') {
    if (salt === undefined) throw new Error('a hash mask without a salt (the config schema requires capture.salt)');
    return (value) => (value === null ? null : createHmac('sha256', salt).update(value).digest('hex'));
  }
  const text = kind === 'fixed' ? FIXED_MASK : kind.fixed;
  return (value) => (value === null ? null : text);
}

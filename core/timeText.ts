// Moments as `?since=` takes them, as a pattern the API's document gives and the parsers use,
// so any text the document allows is read.

/**
 * An RFC 3339 moment, `2026-01-01T00:00:00Z`, seconds and zone optional (no zone: the
 * reader's local time, as Date.parse reads it). Every text it matches is a date Date.parse
 * reads (a day past the month's end rolls over, as Date.parse does).
 */
export const MOMENT =
  '\\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\\d|3[01])T(?:[01]\\d|2[0-3]):[0-5]\\d' +
  '(?::[0-5]\\d(?:\\.\\d{1,9})?)?(?:Z|[+-](?:[01]\\d|2[0-3]):[0-5]\\d)?';

/** `now - ms`, never before the epoch (a huge duration means "from the start"). */
export const backFrom = (now: number, ms: number): number => Math.max(0, Math.round(now - ms));

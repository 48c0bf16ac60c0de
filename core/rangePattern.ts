// Regular expressions for whole numbers in a range, so a document can say "a size up to
// 16 TiB" as a pattern any JSON Schema tool reads (to-regex-range's method: split the range
// into runs that differ only in their trailing digits).

const allDigits = (n: number) => (n === 0 ? '' : n === 1 ? '\\d' : `\\d{${n}}`);

/** Patterns for the digit strings from `a` to `b`, both of one length. */
function sameLength(a: string, b: string): string[] {
  if (a.length === 0) return [''];
  if (a === b) return [a];
  if (a[0] === b[0]) return sameLength(a.slice(1), b.slice(1)).map((rest) => a[0] + rest);
  const rest = a.length - 1;
  const lowFull = a.slice(1) === '0'.repeat(rest);
  const highFull = b.slice(1) === '9'.repeat(rest);
  const out: string[] = [];
  let first = Number(a[0]);
  let last = Number(b[0]);
  if (!lowFull) {
    out.push(...sameLength(a.slice(1), '9'.repeat(rest)).map((r) => a[0] + r));
    first++;
  }
  if (!highFull) last--;
  if (first <= last) {
    out.push(`${first === last ? first : `[${first}-${last}]`}${allDigits(rest)}`);
  }
  if (!highFull) out.push(...sameLength('0'.repeat(rest), b.slice(1)).map((r) => b[0] + r));
  return out;
}

/** A group matching the decimal integers from `low` to `high` (no sign, no leading zero). */
export function integerRangePattern(low: number, high: number): string {
  if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || low < 0 || low > high) {
    throw new Error(`no integer range ${low}..${high}`);
  }
  const parts: string[] = [];
  for (let digits = String(low).length; digits <= String(high).length; digits++) {
    const from = Math.max(low, digits === 1 ? 0 : 10 ** (digits - 1));
    const to = Math.min(high, 10 ** digits - 1);
    if (from <= to) parts.push(...sameLength(String(from), String(to)));
  }
  return `(?:${parts.join('|')})`;
}

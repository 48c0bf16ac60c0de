// Human sizes and cpu amounts <-> the integer units stored everywhere.
import { integerRangePattern } from './rangePattern.js';

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  ki: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mi: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gi: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  ti: 1024 ** 4,
  tib: 1024 ** 4,
};

/** Parses `64m`, `1g`, `512MiB`, `1048576` into bytes (binary units, as Docker does). */
export function parseSize(input: string | number): number | undefined {
  if (typeof input === 'number') {
    return Number.isSafeInteger(input) && input >= 0 ? input : undefined;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input);
  if (!match) return undefined;
  const unit = SIZE_UNITS[match[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  const bytes = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  const text = value >= 100 || Number.isInteger(value) ? value.toFixed(0) : value.toFixed(1);
  return `${text}${units[i]}`;
}

export const coresToMillis = (cores: number): number => Math.round(cores * 1000);
export const millisToCores = (millis: number): number => millis / 1000;

export function formatCpu(millis: number): string {
  return `${Number((millis / 1000).toFixed(3))}`;
}

// The unit groups of parseSize as patterns: `k`, `kb`, `ki`, `kib` in any case, and so on.
const UNIT_PATTERNS: [number, string][] = [
  [1, '[bB]?'],
  [1024, '[kK][iI]?[bB]?'],
  [1024 ** 2, '[mM][iI]?[bB]?'],
  [1024 ** 3, '[gG][iI]?[bB]?'],
  [1024 ** 4, '[tT][iI]?[bB]?'],
];

/**
 * A pattern for size strings parseSize reads as `min`..`max` bytes (or 0 when `zero`). It
 * is a little narrower than parseSize (`0.5g` for at least 6m is left out: a fraction is
 * allowed only above the smallest whole number of the unit), never wider.
 */
export function sizePattern(min: number, max: number, zero: boolean): string {
  const groups: string[] = [];
  for (const [unit, suffix] of UNIT_PATTERNS) {
    const low = Math.ceil(min / unit);
    const high = Math.floor(max / unit);
    if (low > high) continue;
    const numbers = [`${integerRangePattern(high, high)}(?:\\.0+)?`];
    if (low < high) numbers.unshift(`${integerRangePattern(low, high - 1)}(?:\\.\\d+)?`);
    if (zero && low > 0) numbers.unshift('0(?:\\.0+)?');
    groups.push(`0*(?:${numbers.join('|')})\\s*${suffix}`);
  }
  return `^\\s*(?:${groups.map((g) => `(?:${g})`).join('|')})\\s*$`;
}

/** What the document says of a size field (see sizePattern). */
export function sizeJsonSchema(min: number, max: number, zero: boolean): Record<string, unknown> {
  const whole = { type: 'integer', minimum: min, maximum: max };
  return {
    description:
      `Bytes (a whole number), or a size like 64m, 1.5g, 512MiB (binary units); ` +
      `${zero && min > 0 ? `0, or ` : ''}from ${formatSize(min)} to ${formatSize(max)}`,
    anyOf: [
      ...(zero && min > 0 ? [{ const: 0 }] : []),
      whole,
      { type: 'string', pattern: sizePattern(min, max, zero) },
    ],
  };
}

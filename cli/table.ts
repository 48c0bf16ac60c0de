// Plain-text tables for listing commands: left-aligned columns, two spaces apart, no
// trailing spaces (so output stays friendly to grep, awk and diff).
import { oneLine } from './format.js';

export interface TableOptions {
  /** Widest a column may be, by header; longer cells are cut with an ellipsis. */
  maxWidths?: Record<string, number>;
  /** Separator between columns. */
  gap?: string;
}

/** Cuts `text` to at most `max` characters, ending with '…' when it was cut. */
export function truncate(text: string, max: number): string {
  if (max <= 0) return '';
  const chars = Array.from(text);
  if (chars.length <= max) return text;
  return max === 1
    ? '…'
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

const width = (text: string): number => Array.from(text).length;

/** One cell per header per row; newlines and tabs in cells become spaces, other controls escapes. */
export function formatTable(
  headers: readonly string[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const gap = options.gap ?? '  ';
  const clean = (cell: string | undefined, column: number): string => {
    const flat = oneLine((cell ?? '').replace(/[\r\n\t]+/g, ' '));
    const max = options.maxWidths?.[headers[column] ?? ''];
    return max === undefined ? flat : truncate(flat, max);
  };
  const lines = [
    headers.map((h, i) => clean(h, i)),
    ...rows.map((row) => headers.map((_, i) => clean(row[i], i))),
  ];
  const widths = headers.map((_, i) => Math.max(...lines.map((line) => width(line[i]!))));
  return lines
    .map((line) =>
      line
        .map((cell, i) =>
          i === line.length - 1 ? cell : cell + ' '.repeat(widths[i]! - width(cell)),
        )
        .join(gap)
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

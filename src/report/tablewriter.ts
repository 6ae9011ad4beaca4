// ASCII tables exactly as github.com/olekukonko/tablewriter v0.0.5 renders them with its defaults plus
// `SetRowLine(true)` — the configuration iter8ctl used. The describe output is compared
// byte for byte with the original's, so the quirks are reproduced on purpose:
//  - a cell is wrapped only when its longest line exceeds the 30-column limit, and its column is then
//    at least 30 wide even if the wrapped lines are shorter;
//  - the lines of a multi-line cell are first joined into one paragraph with spaces ("reflow");
//  - a single word longer than the limit widens the column instead of being broken;
//  - alignment is decided per *line*: a line that looks like a number is right-aligned;
//  - header cells are upper-cased, `_` and most `.` become spaces, and they are centred with the odd
//    space on the right.

import { displayWidth, stringWidth } from "./width.ts";

/** Default maximum cell width before wrapping (tablewriter `MAX_ROW_WIDTH`). */
export const MAX_CELL_WIDTH = 30;

// Go's regexp `$` (without the m flag) only matches at the end of the text, so tablewriter's percent
// pattern `^-?\d+\.?\d*$%$` can never match; only the decimal pattern decides alignment.
const DECIMAL = /^-?(?:\d{1,3}(?:,\d{3})*|\d+)(?:\.\d+)?$/;

/** Cost added to a line that is longer than the limit (only possible for an over-long word). */
const OVERLONG_LINE_PENALTY = 1e5;

/**
 * Minimum-raggedness line breaking: splits `words` into lines so that the sum over all lines but the
 * last of (limit - lineLength)^2 is minimal, with `spaceWidth` between adjacent words. Same
 * dynamic programme (solved from the last word backwards) and the same tie-breaking (earliest break
 * wins) as tablewriter's WrapWords, so the chosen breaks are identical.
 */
export function wrapWords(
  words: readonly string[],
  spaceWidth: number,
  limit: number,
  penalty: number,
): string[][] {
  const n = words.length;
  if (n === 0) return [];
  const widths = words.map(stringWidth);
  // lineWidth(i, j): width of words i..j (inclusive) on one line.
  const lineWidth = (i: number, j: number): number => {
    let w = widths[i]!;
    for (let k = i + 1; k <= j; k++) w += spaceWidth + widths[k]!;
    return w;
  };
  const cost = new Array<number>(n).fill(Number.POSITIVE_INFINITY);
  const nextBreak = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    if (lineWidth(i, n - 1) <= limit) {
      cost[i] = 0;
      nextBreak[i] = n;
      continue;
    }
    let width = widths[i]!;
    for (let j = i + 1; j < n; j++) {
      // `width` is the width of words i..j-1 on one line.
      const slack = limit - width;
      let c = slack * slack + cost[j]!;
      if (width > limit) c += penalty;
      if (c < cost[i]!) {
        cost[i] = c;
        nextBreak[i] = j;
      }
      width += spaceWidth + widths[j]!;
    }
  }
  const lines: string[][] = [];
  for (let i = 0; i < n; i = nextBreak[i]!) lines.push(words.slice(i, nextBreak[i]));
  return lines;
}

/**
 * Wraps one paragraph at `limit` columns (tablewriter `WrapString`): words are separated by single
 * spaces (runs of spaces give empty words, as in Go's strings.Split); the limit grows to the widest word.
 */
export function wrapString(text: string, limit: number): { lines: string[]; limit: number } {
  const words = text.replaceAll("\n", " ").split(" ");
  let lim = limit;
  for (const word of words) lim = Math.max(lim, stringWidth(word));
  const lines = wrapWords(words, 1, lim, OVERLONG_LINE_PENALTY).map((line) => line.join(" "));
  return { lines, limit: lim };
}

/** Header auto-format (tablewriter `Title`). */
export function titleCase(name: string): string {
  const chars = [...name];
  const isDigitOrSpace = (c: string | undefined): boolean =>
    c !== undefined && (c === " " || (c >= "0" && c <= "9"));
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === "_") chars[i] = " ";
    else if (c === ".") {
      // A dot stays only when each neighbour that exists is a digit or a space (e.g. `0.0`).
      const prevBreaks = i !== 0 && !isDigitOrSpace(chars[i - 1]);
      const nextBreaks = i !== chars.length - 1 && !isDigitOrSpace(chars[i + 1]);
      if (prevBreaks || nextBreaks) chars[i] = " ";
    }
  }
  let out = chars.join("").trim();
  // Keep at least one character so an empty line of a multi-line header stays a line.
  if (out.length === 0 && name.length > 0) out = " ";
  return toUpperPerCodePoint(out);
}

// Go's strings.ToUpper maps each code point to one code point; JavaScript may expand some (ß -> SS).
// Keep such characters unchanged so widths match the original.
function toUpperPerCodePoint(text: string): string {
  let out = "";
  for (const ch of text) {
    const up = ch.toUpperCase();
    out += [...up].length === 1 ? up : ch;
  }
  return out;
}

/** Centre within `width` (tablewriter `Pad`): the odd space goes to the right. */
export function padCenter(s: string, width: number): string {
  const gap = width - displayWidth(s);
  if (gap <= 0) return s;
  const left = Math.floor(gap / 2);
  return " ".repeat(left) + s + " ".repeat(gap - left);
}

/** Left-align within `width` (tablewriter `PadRight`). */
export function padRight(s: string, width: number): string {
  const gap = width - displayWidth(s);
  return gap > 0 ? s + " ".repeat(gap) : s;
}

/** Right-align within `width` (tablewriter `PadLeft`). */
export function padLeft(s: string, width: number): string {
  const gap = width - displayWidth(s);
  return gap > 0 ? " ".repeat(gap) + s : s;
}

/** True if a cell line is laid out as a number (right-aligned). */
export function looksNumeric(line: string): boolean {
  return DECIMAL.test(line.trim());
}

export interface TableOptions {
  /** Maximum cell width before wrapping; default 30. */
  maxCellWidth?: number;
  /** Separator line after every row (iter8ctl sets it); default true. */
  rowLine?: boolean;
}

/**
 * Renders a table with a header row. Every row must have at most as many cells as the header has
 * columns; the result ends with a newline.
 */
export function renderTable(
  header: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
  options: TableOptions = {},
): string {
  const maxCellWidth = options.maxCellWidth ?? MAX_CELL_WIDTH;
  const rowLine = options.rowLine ?? true;
  if (!Number.isInteger(maxCellWidth) || maxCellWidth < 1) {
    throw new Error(`table maxCellWidth must be a positive integer, got ${maxCellWidth}`);
  }
  rows.forEach((row, i) => {
    if (row.length > header.length) {
      throw new Error(`table row ${i} has ${row.length} cells but the header has ${header.length} columns`);
    }
  });

  const columnWidths = new Array<number>(header.length).fill(0);
  // Splits a cell into its display lines and records the column width it needs.
  const layoutCell = (text: string, column: number): string[] => {
    const rawLines = text.split("\n");
    let width = Math.min(Math.max(...rawLines.map(displayWidth)), maxCellWidth);
    const { lines } = wrapString(rawLines.join(" "), width);
    for (const line of lines) width = Math.max(width, displayWidth(line));
    columnWidths[column] = Math.max(columnWidths[column]!, width);
    return lines;
  };

  const headerCells = header.map((text, column) => layoutCell(text, column));
  const bodyCells = rows.map((row) => row.map((text, column) => layoutCell(text, column)));

  const separator = `+${columnWidths.map((w) => "-".repeat(w + 2)).join("+")}+\n`;
  let out = separator;

  const headerHeight = Math.max(0, ...headerCells.map((lines) => lines.length));
  for (let x = 0; x < headerHeight; x++) {
    out += "|";
    for (let y = 0; y < columnWidths.length; y++) {
      const line = headerCells[y]?.[x] ?? "";
      out += ` ${padCenter(titleCase(line), columnWidths[y]!)} |`;
    }
    out += "\n";
  }
  out += separator;

  for (const cells of bodyCells) {
    const height = Math.max(0, ...cells.map((lines) => lines.length));
    for (let x = 0; x < height; x++) {
      for (let y = 0; y < cells.length; y++) {
        // Shorter cells are filled with two-space lines, as tablewriter does.
        const line = cells[y]![x] ?? "  ";
        const width = columnWidths[y]!;
        out += `| ${looksNumeric(line) ? padLeft(line, width) : padRight(line, width)} `;
      }
      out += "|\n";
    }
    if (rowLine) out += separator;
  }
  if (!rowLine) out += separator;
  return out;
}

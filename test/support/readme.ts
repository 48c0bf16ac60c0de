// Command lines of the docs' shell blocks, for the tests that keep the docs honest.

/** The lines of the first ```sh block under the heading `title` (any level). */
export function readmeBlock(markdown: string, title: string): string[] {
  const lines = markdown.split('\n');
  const heading = lines.findIndex((l) => /^#+\s/.test(l) && l.replace(/^#+\s+/, '') === title);
  if (heading < 0) throw new Error(`no heading '${title}'`);
  const open = lines.findIndex((l, i) => i > heading && /^```(sh|bash|shell)\s*$/.test(l));
  const close = lines.findIndex((l, i) => i > open && /^```\s*$/.test(l));
  if (open < 0 || close < 0) throw new Error(`no shell block under '${title}'`);
  return lines.slice(open + 1, close).filter((l) => l.trim() !== '');
}

/** Every line of every ```sh block: [line, 1-based line number]. */
export function shellLines(markdown: string): [string, number][] {
  const found: [string, number][] = [];
  let inBlock = false;
  markdown.split('\n').forEach((line, i) => {
    if (/^```/.test(line)) inBlock = !inBlock && /^```(sh|bash|shell)\s*$/.test(line);
    else if (inBlock && line.trim() !== '') found.push([line, i + 1]);
  });
  return found;
}

// Reads a service spec file: YAML (a superset of JSON, so .json files read the same way).
// Errors name the file and the line, never a stack trace.
import { readFileSync } from 'node:fs';
import { UsageError } from 'clipanion';
import { parse, YAMLParseError } from 'yaml';

export interface SpecFile {
  name: string;
  spec: Record<string, unknown>;
}

export function readSpecFile(path: string, readText = readFileSync): SpecFile {
  let text: string;
  try {
    text = path === '-' ? readText(0, 'utf8') : readText(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${path}: ${code === 'ENOENT' ? 'no such file' : code}`);
  }
  let value: unknown;
  try {
    value = parse(text, { prettyErrors: true });
  } catch (error) {
    if (error instanceof YAMLParseError) {
      const line = error.linePos?.[0].line;
      const where = line ? `${path}:${line}` : path;
      throw new UsageError(`${where}: not valid YAML or JSON: ${error.message.split('\n')[0]}`);
    }
    throw error;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${path}: a service spec is a mapping with name, replicas and task`);
  }
  const spec = value as Record<string, unknown>;
  if (typeof spec.name !== 'string' || spec.name === '') {
    throw new UsageError(`${path}: name: required, the service's name`);
  }
  return { name: spec.name, spec };
}

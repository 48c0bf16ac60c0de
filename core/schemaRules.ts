// Request rules that zod checks with code and JSON Schema cannot read from that code: each
// helper here adds the check and what the OpenAPI document says of it, in one call, so the
// document (built with z.toJSONSchema) and the validator cannot drift apart. JSON Schema has
// no word for three of them (a total length, unique keys, names distinct across fields); the
// document says those with its own keywords `x-cube-maxTotalLength`, `x-cube-uniqueBy` and
// `x-cube-distinctNames`, described in its info.
import { z } from 'zod';

type Json = Record<string, unknown>;

/** Length in characters (code points), as JSON Schema counts `maxLength`. */
export const charCount = (text: string): number => {
  let n = 0;
  for (const _ of text) n++;
  return n;
};

/** A string of at most `max` characters, counted as the document counts them. */
export const text = (max: number) =>
  z
    .string()
    .refine((s) => s.length <= max || charCount(s) <= max, `must be at most ${max} characters`)
    .meta({ maxLength: max });

/** Exactly one of `keys` is given. */
export function exactlyOneOf<T extends z.ZodObject>(schema: T, keys: readonly string[]): T {
  return schema
    .refine(
      (value: Record<string, unknown>) => keys.filter((k) => value[k] !== undefined).length === 1,
      `give exactly one of ${keys.join(' or ')}`,
    )
    .meta({ oneOf: keys.map((k) => ({ required: [k] })) }) as T;
}

/**
 * When `key` is given, `field` must be one of `allowed` (JSON Schema dependentSchemas); the
 * error names `key`.
 */
export function whenGiven<T extends z.ZodObject>(
  schema: T,
  key: string,
  field: string,
  allowed: readonly (string | number | boolean)[],
  message: string,
): T {
  return schema
    .refine(
      (value: Record<string, unknown>) =>
        value[key] === undefined || allowed.includes(value[field] as string),
      { path: [key], message },
    )
    .meta({
      dependentSchemas: {
        [key]: { required: [field], properties: { [field]: { enum: [...allowed] } } },
      },
    }) as T;
}

/** When `field` is `value`, `other` must be absent or match `otherSchema`. */
export function whenEquals<T extends z.ZodObject>(
  schema: T,
  rule: {
    field: string;
    value: string;
    other: string;
    otherSchema: Json;
    holds: (v: unknown) => boolean;
    message: string;
  },
): T {
  return schema
    .refine(
      (value: Record<string, unknown>) =>
        value[rule.field] !== rule.value ||
        value[rule.other] === undefined ||
        rule.holds(value[rule.other]),
      { path: [rule.other], message: rule.message },
    )
    .meta({
      // "not (field is value) or (other matches)": if/then without a `then` key.
      anyOf: [
        { not: { required: [rule.field], properties: { [rule.field]: { const: rule.value } } } },
        { properties: { [rule.other]: rule.otherSchema } },
      ],
    }) as T;
}

/** The characters of all strings of an array, or all keys and values of a record. */
export function totalChars(value: unknown): number {
  const texts = Array.isArray(value) ? value : Object.entries(value as object).flat();
  return texts.reduce((sum: number, t) => sum + (typeof t === 'string' ? charCount(t) : 0), 0);
}

/** At most `max` characters in all (strings of an array; keys and values of a record). */
export function maxTotalChars<T extends z.ZodType>(schema: T, max: number): T {
  return schema
    .refine((value) => totalChars(value) <= max, `must be at most ${max} characters in all`)
    .meta({ 'x-cube-maxTotalLength': max }) as T;
}

/**
 * No two items share a key. `by` lists the key's parts; each part is the first of its fields
 * an item gives, else `defaults[field]` (`[['protocol'], ['host', 'container']]`: a port's
 * protocol and the host port, which is the container port when none is given).
 */
export function uniqueBy<T extends z.ZodArray>(
  schema: T,
  by: readonly (readonly string[])[],
  defaults: Record<string, unknown>,
  message: (key: string) => string,
): T {
  const keyOf = (item: Record<string, unknown>) =>
    by
      .map((fields) => {
        const field = fields.find((f) => item[f] !== undefined);
        return String(field !== undefined ? item[field] : defaults[fields[0]!]);
      })
      .join('/');
  return schema
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      for (const item of items as Record<string, unknown>[]) {
        const key = keyOf(item);
        if (seen.has(key)) ctx.addIssue({ code: 'custom', message: message(key) });
        seen.add(key);
      }
    })
    .meta({ 'x-cube-uniqueBy': by.map((fields) => [...fields]) }) as T;
}

/** Where names come from: the keys of a record field, or one field of each item of a list. */
export type NameSource = { keysOf: string } | { itemsOf: string; field: string };

/**
 * No name is given twice across `sources` (env keys and secret names: one variable each).
 * The error names the list item that repeats a name.
 */
export function distinctNames<T extends z.ZodObject>(
  schema: T,
  sources: readonly NameSource[],
  message: (name: string) => string,
): T {
  return schema
    .superRefine((value: Record<string, unknown>, ctx) => {
      const seen = new Set<string>();
      for (const source of sources) {
        if ('keysOf' in source) {
          for (const key of Object.keys((value[source.keysOf] ?? {}) as object)) seen.add(key);
          continue;
        }
        const items = (value[source.itemsOf] ?? []) as Record<string, unknown>[];
        for (const [index, item] of items.entries()) {
          const name = String(item[source.field]);
          if (seen.has(name)) {
            ctx.addIssue({
              code: 'custom',
              path: [source.itemsOf, index, source.field],
              message: message(name),
            });
            return;
          }
          seen.add(name);
        }
      }
    })
    .meta({ 'x-cube-distinctNames': sources.map((s) => ({ ...s })) }) as T;
}

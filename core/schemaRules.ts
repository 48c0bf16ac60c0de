// Request rules that zod checks with code and JSON Schema cannot read from that code: each
// helper here adds the check and what the OpenAPI document says of it, in one call, so the
// document (built with z.toJSONSchema) and the validator cannot drift apart. JSON Schema has
// no word for some (a total length, unique keys, names distinct across fields, two fields in
// order or equal, a value only an answer gives); the document says those with its own
// `x-cube-*` keywords, described in its info (functions/api/openapi.ts).
import { z } from 'zod';
import { integerRangePattern } from './rangePattern.js';

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
export interface WhenEqualsRule {
  field: string;
  value: string;
  other: string;
  otherSchema: Json;
  holds: (v: unknown) => boolean;
  message: string;
  /** Where in `other` the error is (`[2, 'host']`), when it names a part of it. */
  at?: (v: unknown) => (string | number)[];
}

/** `rules` across fields, each "when field is value, other matches"; the first broken is named. */
export function whenEquals<T extends z.ZodObject>(schema: T, rules: readonly WhenEqualsRule[]): T {
  return schema
    .superRefine((value: Record<string, unknown>, ctx) => {
      for (const rule of rules) {
        const other = value[rule.other];
        if (value[rule.field] !== rule.value || other === undefined || rule.holds(other)) continue;
        ctx.addIssue({
          code: 'custom',
          path: [rule.other, ...(rule.at?.(other) ?? [])],
          message: rule.message,
        });
        return;
      }
    })
    .meta({
      // Each: "not (field is value) or (other matches)", if/then without a `then` key.
      allOf: rules.map((rule) => ({
        anyOf: [
          { not: { required: [rule.field], properties: { [rule.field]: { const: rule.value } } } },
          { properties: { [rule.other]: rule.otherSchema } },
        ],
      })),
    }) as T;
}

/**
 * When an object gives both `fields`, they are equal. JSON Schema cannot compare two fields:
 * the document says it with `x-cube-sameWhenGiven`.
 */
export const sameWhenGiven = (fields: readonly [string, string]): Json => ({
  'x-cube-sameWhenGiven': [...fields],
});

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

/** A whole number from `min` to `max` written as text (a query parameter), as one pattern. */
export const wholeText = (min: number, max: number) =>
  z
    .string()
    .regex(
      new RegExp(`^${integerRangePattern(min, max)}$`),
      `must be a whole number from ${min} to ${max}`,
    );

/**
 * A value only an earlier answer gives (a page token): the document names the answer's field
 * (`x-cube-fromAnswer`); any other value is refused (400).
 */
export const fromAnswer = <T extends z.ZodType>(schema: T, field: string, description: string) =>
  schema.meta({ 'x-cube-fromAnswer': field, description }) as T;

/**
 * None of `values` given all at once, a field left out counting as its default (`maxSurge`
 * and `maxUnavailable` both 0, or `0%`: a field may list the values that count); the error
 * names the first field.
 */
export function notAll<T extends z.ZodObject>(
  schema: T,
  values: Record<string, Value | readonly Value[]>,
  defaults: Record<string, unknown>,
  message: string,
): T {
  const fields = Object.keys(values);
  // Each field's values that count (a list: any of them, e.g. 0 and "0%").
  const any = (f: string): readonly unknown[] => [values[f]].flat();
  return schema
    .refine(
      (value: Record<string, unknown>) =>
        !fields.every((f) => any(f).includes(value[f] ?? defaults[f])),
      { path: [fields[0]!], message },
    )
    .meta({
      not: {
        // A field whose default is one of the values matches when absent too.
        required: fields.filter((f) => !any(f).includes(defaults[f])),
        properties: Object.fromEntries(
          fields.map((f) => [
            f,
            Array.isArray(values[f]) ? { enum: any(f) } : { const: values[f] },
          ]),
        ),
      },
    }) as T;
}

type Value = string | number | boolean;

/** `field` is more than `than` (or at least, when `orEqual`), each absent one its default. */
export interface Order {
  field: string;
  than: string;
  orEqual?: boolean;
  message: string;
}

/**
 * Numbers of one object in order (healthyDeadline above minHealthyTime). JSON Schema cannot
 * compare two fields: the document says it with `x-cube-ordered`, each absent field counting
 * as its `default`, which the document gives too.
 */
export function ordered<T extends z.ZodObject>(
  schema: T,
  orders: readonly Order[],
  defaults: Record<string, number>,
): T {
  const of = (value: Record<string, unknown>, f: string) => (value[f] ?? defaults[f]) as number;
  return schema
    .superRefine((value: Record<string, unknown>, ctx) => {
      for (const o of orders) {
        const a = of(value, o.field);
        const b = of(value, o.than);
        if (o.orEqual ? a < b : a <= b) {
          ctx.addIssue({ code: 'custom', path: [o.field], message: o.message });
          return;
        }
      }
    })
    .meta({
      'x-cube-ordered': orders.map((o) => ({
        field: o.field,
        than: o.than,
        ...(o.orEqual ? { orEqual: true } : {}),
      })),
    }) as T;
}

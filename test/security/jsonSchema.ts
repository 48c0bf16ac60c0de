// The part of JSON Schema 2020-12 the API document uses, read two ways: a validator (what
// the document allows) and a fast-check arbitrary of values it allows. A keyword outside
// this part throws, so a document that grows a rule this reading cannot honour fails the
// test loudly instead of being half-read. `x-cube-*` are the document's own keywords for
// rules JSON Schema has no word for (see core/schemaRules.ts).
import fc from 'fast-check';

export type Schema = { [keyword: string]: unknown } | boolean;

const TRICKY = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf'];

const ANNOTATIONS = new Set(['description', 'default', 'title', 'format', 'examples']);
const KEYWORDS = new Set([
  ...ANNOTATIONS,
  '$ref',
  'type',
  'enum',
  'const',
  'allOf',
  'anyOf',
  'oneOf',
  'not',
  'if',
  'then',
  'else',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'items',
  'minItems',
  'maxItems',
  'uniqueItems',
  'properties',
  'required',
  'additionalProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'dependentRequired',
  'dependentSchemas',
  'x-cube-maxTotalLength',
  'x-cube-uniqueBy',
  'x-cube-distinctNames',
  'x-cube-ordered',
  'x-cube-sameWhenGiven',
  // What the value must also be, beyond its schema: generation leaves these to the caller.
  'x-cube-fromAnswer',
  'x-cube-equalsPathParameter',
  // Only in schemas merged for generation: the patterns of an allOf beyond the first.
  'x-patterns',
]);

type Node = { [keyword: string]: unknown };

const codePoints = (text: string) => [...text].length;
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

function typeOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return [];
    return Number.isInteger(value) ? ['integer', 'number'] : ['number'];
  }
  return [typeof value];
}

/** Characters of strings in an array, or of keys and values in an object. */
function totalLength(value: unknown): number {
  const texts = Array.isArray(value) ? value : isObject(value) ? Object.entries(value).flat() : [];
  return texts.reduce((sum: number, t) => sum + (typeof t === 'string' ? codePoints(t) : 0), 0);
}

/** `x-cube-distinctNames`: the names its sources give (record keys, one field of list items). */
function namesGiven(value: Record<string, unknown>, sources: Record<string, string>[]): string[] {
  return sources.flatMap((source) => {
    const from = value[source.keysOf ?? source.itemsOf!];
    if (source.keysOf !== undefined) return isObject(from) ? Object.keys(from) : [];
    return Array.isArray(from) ? from.map((item) => String(item?.[source.field!])) : [];
  });
}

/**
 * `x-cube-uniqueBy`: the items' key is one value per entry; an entry lists fields, the first
 * one present counts (or the first field's schema default).
 */
function uniqueKey(item: unknown, by: string[][], itemSchema: Node): string {
  const props = (itemSchema.properties ?? {}) as Record<string, Node>;
  const record = isObject(item) ? item : {};
  return JSON.stringify(
    by.map((fields) => {
      const field = fields.find((f) => record[f] !== undefined);
      return field !== undefined ? record[field] : props[fields[0]!]?.default;
    }),
  );
}

export class JsonSchemaReader {
  constructor(private readonly document: { components?: { schemas?: Record<string, Schema> } }) {}

  private resolve(ref: string): Schema {
    const name = /^#\/components\/schemas\/(.+)$/.exec(ref)?.[1];
    const found = name ? this.document.components?.schemas?.[name] : undefined;
    if (found === undefined) throw new Error(`unresolvable $ref ${ref}`);
    return found;
  }

  /** The schema with `$ref` replaced by its target (siblings kept). */
  deref(schema: Schema): Schema {
    if (typeof schema === 'boolean' || typeof schema.$ref !== 'string') return schema;
    const { $ref, ...rest } = schema;
    const target = this.deref(this.resolve($ref as string));
    if (typeof target === 'boolean') return target;
    return Object.keys(rest).length === 0 ? target : { allOf: [target, rest] };
  }

  /** The first rule `value` breaks (as `path: rule`), or undefined when it is allowed. */
  problem(schema: Schema, value: unknown, path = '$'): string | undefined {
    const s = this.deref(schema);
    if (s === true) return undefined;
    if (s === false) return `${path}: nothing is allowed`;
    for (const keyword of Object.keys(s)) {
      if (!KEYWORDS.has(keyword)) throw new Error(`${path}: keyword ${keyword} is not understood`);
    }
    const fail = (rule: string) => `${path}: ${rule}`;
    if (s.type !== undefined) {
      const types = Array.isArray(s.type) ? s.type : [s.type];
      if (!types.some((t) => typeOf(value).includes(t as string))) {
        return fail(`must be ${types.join(' or ')}`);
      }
    }
    if (s.enum !== undefined && !(s.enum as unknown[]).some((e) => same(e, value))) {
      return fail(`must be one of ${JSON.stringify(s.enum)}`);
    }
    if ('const' in s && !same(s.const, value)) return fail(`must be ${JSON.stringify(s.const)}`);
    for (const [i, sub] of ((s.allOf ?? []) as Schema[]).entries()) {
      const p = this.problem(sub, value, path);
      if (p) return `${p} (allOf ${i})`;
    }
    if (s.anyOf && !(s.anyOf as Schema[]).some((sub) => !this.problem(sub, value, path))) {
      return fail('matches no anyOf branch');
    }
    if (s.oneOf) {
      const matches = (s.oneOf as Schema[]).filter((sub) => !this.problem(sub, value, path));
      if (matches.length !== 1) return fail(`matches ${matches.length} oneOf branches`);
    }
    if (s.not !== undefined && !this.problem(s.not as Schema, value, path)) {
      return fail('matches the not schema');
    }
    if (s.if !== undefined) {
      const branch = this.problem(s.if as Schema, value, path) ? s.else : s.then;
      const p = branch === undefined ? undefined : this.problem(branch as Schema, value, path);
      if (p) return `${p} (if/then/else)`;
    }
    if (typeof value === 'string') {
      const n = codePoints(value);
      if (typeof s.minLength === 'number' && n < s.minLength) return fail('too short');
      if (typeof s.maxLength === 'number' && n > s.maxLength) return fail('too long');
      for (const pattern of [s.pattern, ...((s['x-patterns'] as unknown[]) ?? [])]) {
        if (typeof pattern === 'string' && !new RegExp(pattern).test(value)) {
          return fail(`must match ${pattern}`);
        }
      }
    }
    if (typeof value === 'number') {
      if (typeof s.minimum === 'number' && value < s.minimum) return fail('below minimum');
      if (typeof s.maximum === 'number' && value > s.maximum) return fail('above maximum');
      if (typeof s.exclusiveMinimum === 'number' && value <= s.exclusiveMinimum) {
        return fail('not above exclusiveMinimum');
      }
      if (typeof s.exclusiveMaximum === 'number' && value >= s.exclusiveMaximum) {
        return fail('not below exclusiveMaximum');
      }
      if (typeof s.multipleOf === 'number' && !Number.isInteger(value / s.multipleOf)) {
        return fail(`must be a multiple of ${s.multipleOf}`);
      }
    }
    if (Array.isArray(value)) {
      if (typeof s.minItems === 'number' && value.length < s.minItems) return fail('too few');
      if (typeof s.maxItems === 'number' && value.length > s.maxItems) return fail('too many');
      if (
        s.uniqueItems === true &&
        new Set(value.map((v) => JSON.stringify(v))).size < value.length
      ) {
        return fail('items must be unique');
      }
      if (s.items !== undefined) {
        for (const [i, item] of value.entries()) {
          const p = this.problem(s.items as Schema, item, `${path}.${i}`);
          if (p) return p;
        }
      }
      if (s['x-cube-uniqueBy'] !== undefined) {
        const items = this.deref((s.items ?? {}) as Schema) as Node;
        const keys = value.map((v) => uniqueKey(v, s['x-cube-uniqueBy'] as string[][], items));
        if (new Set(keys).size < keys.length) return fail('items must have unique keys');
      }
    }
    if (isObject(value)) {
      const keys = Object.keys(value);
      const props = (s.properties ?? {}) as Record<string, Schema>;
      if (typeof s.minProperties === 'number' && keys.length < s.minProperties) {
        return fail('too few properties');
      }
      if (typeof s.maxProperties === 'number' && keys.length > s.maxProperties) {
        return fail('too many properties');
      }
      for (const name of (s.required ?? []) as string[]) {
        if (!(name in value)) return fail(`${name} is required`);
      }
      for (const key of keys) {
        const sub = Object.hasOwn(props, key) ? props[key] : s.additionalProperties;
        if (sub !== undefined) {
          const p = this.problem(sub as Schema, value[key], `${path}.${key}`);
          if (p) return p;
        }
        if (s.propertyNames !== undefined) {
          const p = this.problem(s.propertyNames as Schema, key, `${path}[${key}]`);
          if (p) return p;
        }
      }
      for (const [key, needed] of Object.entries((s.dependentRequired ?? {}) as object)) {
        if (key in value && !(needed as string[]).every((n) => n in value)) {
          return fail(`${key} requires ${needed}`);
        }
      }
      const same = s['x-cube-sameWhenGiven'] as [string, string] | undefined;
      if (same?.every((f) => f in value) && !Object.is(value[same[0]], value[same[1]])) {
        return fail(`${same[0]} must equal ${same[1]}`);
      }
      for (const o of (s['x-cube-ordered'] ?? []) as Record<string, unknown>[]) {
        const of = (f: string) =>
          (value[f] ?? (props[f] as Node | undefined)?.default) as number | undefined;
        const a = of(o.field as string);
        const b = of(o.than as string);
        if (a !== undefined && b !== undefined && (o.orEqual ? a < b : a <= b)) {
          return fail(`${o.field} must be ${o.orEqual ? 'at least' : 'more than'} ${o.than}`);
        }
      }
      if (s['x-cube-distinctNames'] !== undefined) {
        const names = namesGiven(value, s['x-cube-distinctNames'] as Record<string, string>[]);
        if (new Set(names).size < names.length) return fail('names must be distinct');
      }
      for (const [key, sub] of Object.entries((s.dependentSchemas ?? {}) as object)) {
        const p = key in value ? this.problem(sub as Schema, value, path) : undefined;
        if (p) return `${p} (because of ${key})`;
      }
    }
    if (
      typeof s['x-cube-maxTotalLength'] === 'number' &&
      totalLength(value) > s['x-cube-maxTotalLength']
    ) {
      return fail('too many characters in all');
    }
    return undefined;
  }

  /** Values the schema allows (each one checked by `problem`). */
  arbitrary(schema: Schema): fc.Arbitrary<unknown> {
    return this.generate(schema).filter((v) => this.problem(schema, v) === undefined);
  }

  private generate(schema: Schema): fc.Arbitrary<unknown> {
    const s = this.deref(schema);
    if (s === true) return fc.jsonValue({ maxDepth: 2 });
    if (s === false) throw new Error('a false schema allows nothing');
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    const { allOf, anyOf, oneOf, ...base } = s;
    if (Array.isArray(allOf)) {
      // Merged into one schema; a second pattern (or any rule lost in the merge) is left to
      // the final check.
      return this.generate(
        (allOf as Schema[]).reduce<Node>((merged, sub) => merge(merged, this.deref(sub)), base),
      );
    }
    const branches = (anyOf ?? oneOf) as Schema[] | undefined;
    if (branches) {
      // A branch that is one value the whole schema refuses (`const: 0` under `minimum: 0.1`)
      // would be filtered forever: it is left out.
      const merged = branches
        .map((b) => merge(base, this.deref(b)))
        .filter((m) => !('const' in m) || !this.problem(s, m.const));
      return fc.oneof(...merged.map((m) => this.generate(m).filter((v) => !this.problem(s, v))));
    }
    const types = s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
    if (types.length !== 1) {
      if (types.length === 0 && s.properties) return this.generate({ ...s, type: 'object' });
      if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
      return fc.oneof(...types.map((type) => this.generate({ ...s, type })));
    }
    switch (types[0]) {
      case 'string':
        return this.string(s);
      case 'integer':
        return fc.integer({
          min: Math.ceil(bound(s, 'min') ?? Number.MIN_SAFE_INTEGER),
          max: Math.floor(bound(s, 'max') ?? Number.MAX_SAFE_INTEGER),
        });
      case 'number':
        return fc.double({
          noNaN: true,
          noDefaultInfinity: true,
          ...(s.minimum !== undefined ? { min: s.minimum as number } : {}),
          ...(s.maximum !== undefined ? { max: s.maximum as number } : {}),
          ...(s.exclusiveMinimum !== undefined
            ? { min: s.exclusiveMinimum as number, minExcluded: true }
            : {}),
          ...(s.exclusiveMaximum !== undefined
            ? { max: s.exclusiveMaximum as number, maxExcluded: true }
            : {}),
        });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(s.items === undefined ? fc.jsonValue() : this.generate(s.items as Schema), {
          minLength: (s.minItems as number) ?? 0,
          maxLength: Math.min((s.maxItems as number) ?? 8, 8),
        });
      case 'object':
        return this.object(s);
      default:
        throw new Error(`type ${String(types[0])} is not understood`);
    }
  }

  private string(s: Node): fc.Arbitrary<string> {
    const patterns = [s.pattern, ...((s['x-patterns'] as unknown[]) ?? [])].filter(
      (p): p is string => typeof p === 'string',
    );
    const maxLength = (s.maxLength as number) ?? 64;
    // Names JavaScript objects already have: a record keyed by one has broken stores before.
    const tricky = TRICKY.filter(
      (t) => t.length <= maxLength && patterns.every((p) => new RegExp(p).test(t)),
    );
    const plain =
      patterns.length > 0
        ? fc.stringMatching(new RegExp(patterns[0]!), { maxLength })
        : this.text(s, maxLength);
    return tricky.length > 0
      ? fc.oneof(
          { arbitrary: plain, weight: 9 },
          { arbitrary: fc.constantFrom(...tricky), weight: 1 },
        )
      : plain;
  }

  private text(s: Node, maxLength: number): fc.Arbitrary<string> {
    return fc.string({
      unit: fc.oneof(
        fc.constantFrom('a', 'Z', '0', 'é', '𝔘', ' ', '\n', '"', '\\'),
        fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
      ),
      minLength: (s.minLength as number) ?? 0,
      maxLength: Math.min(maxLength, 300),
    });
  }

  private object(s: Node): fc.Arbitrary<Record<string, unknown>> {
    const props = (s.properties ?? {}) as Record<string, Schema>;
    const required = (s.required ?? []) as string[];
    // A property whose schema allows nothing (`not: {}`, false) is never generated.
    const allowed = Object.entries(props).filter(
      ([, v]) =>
        v !== false && !(isObject(v) && isObject(v.not) && Object.keys(v.not).length === 0),
    );
    const known = fc.record(Object.fromEntries(allowed.map(([k, v]) => [k, this.generate(v)])), {
      requiredKeys: required,
    });
    const extra = s.additionalProperties;
    if (extra === undefined || extra === false) return known;
    const key = s.propertyNames
      ? (this.generate(s.propertyNames as Schema) as fc.Arbitrary<string>)
      : fc.string({ maxLength: 12 });
    const values = this.generate(extra === true ? {} : (extra as Schema));
    return fc
      .tuple(
        known,
        fc.dictionary(key, values, {
          minKeys: (s.minProperties as number) ?? 0,
          maxKeys: Math.min((s.maxProperties as number) ?? 6, 6),
        }),
      )
      .map(([a, b]) => ({ ...b, ...a }));
  }
}

function bound(s: Node, side: 'min' | 'max'): number | undefined {
  const inclusive = s[side === 'min' ? 'minimum' : 'maximum'] as number | undefined;
  const exclusive = s[side === 'min' ? 'exclusiveMinimum' : 'exclusiveMaximum'] as
    | number
    | undefined;
  if (exclusive === undefined) return inclusive;
  return side === 'min' ? Math.floor(exclusive) + 1 : Math.ceil(exclusive) - 1;
}

/** Both schemas' rules in one (for generation only: the final check reads the originals). */
function merge(a: Node, b: Schema): Node {
  if (typeof b === 'boolean') return a;
  const out: Node = { ...a };
  for (const [key, value] of Object.entries(b)) {
    if (key === 'pattern' && typeof out.pattern === 'string') {
      out['x-patterns'] = [...((out['x-patterns'] as unknown[]) ?? []), value];
    } else if (key === 'properties') {
      out.properties = { ...(out.properties as object), ...(value as object) };
    } else if (key === 'required') {
      out.required = [...new Set([...((out.required as string[]) ?? []), ...(value as string[])])];
    } else {
      out[key] = value;
    }
  }
  return out;
}

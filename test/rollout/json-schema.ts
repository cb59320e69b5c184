/**
 * A JSON Schema checker for the keywords docs/notifications.schema.json
 * uses (type, const, enum, required, properties, additionalProperties,
 * items, minimum, maximum, minLength, oneOf, $ref into $defs, format
 * date-time), so that the schema is checked without a new dependency. It
 * refuses a keyword it does not know rather than ignore it.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set(["$schema", "title", "description", "type", "const", "enum", "required", "properties", "additionalProperties", "items", "minimum", "maximum", "minLength", "oneOf", "$ref", "$defs", "format"]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The places where `value` breaks `schema` (empty when it conforms). */
export function schemaErrors(schema: Schema, value: unknown, root: Schema = schema, at = "$"): string[] {
  for (const key of Object.keys(schema)) if (!KNOWN.has(key)) throw new Error(`json-schema.ts does not know the keyword ${key} (at ${at})`);
  if (typeof schema.$ref === "string") {
    const name = /^#\/\$defs\/(.+)$/.exec(schema.$ref)?.[1];
    const target = (root.$defs as Record<string, Schema> | undefined)?.[name ?? ""];
    if (target === undefined) throw new Error(`unresolved $ref ${schema.$ref}`);
    return schemaErrors(target, value, root, at);
  }
  const errors: string[] = [];
  const t = typeOf(value);
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((x) => x === t || (x === "number" && t === "integer"))) return [`${at}: ${t} is not ${types.join(" or ")}`];
  }
  if ("const" in schema && value !== schema.const) errors.push(`${at}: ${JSON.stringify(value)} is not ${JSON.stringify(schema.const)}`);
  if (Array.isArray(schema.enum) && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${schema.enum.join(", ")}`);
  if (typeof value === "number") {
    if (typeof schema.minimum === "number" && value < schema.minimum) errors.push(`${at}: ${value} < ${schema.minimum}`);
    if (typeof schema.maximum === "number" && value > schema.maximum) errors.push(`${at}: ${value} > ${schema.maximum}`);
  }
  if (typeof value === "string") {
    if (typeof schema.minLength === "number" && value.length < schema.minLength) errors.push(`${at}: shorter than ${schema.minLength}`);
    if (schema.format === "date-time" && !(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) && !Number.isNaN(Date.parse(value)))) errors.push(`${at}: not a date-time`);
  }
  if (Array.isArray(schema.oneOf)) {
    const passing = schema.oneOf.filter((s) => schemaErrors(s as Schema, value, root, at).length === 0).length;
    if (passing !== 1) errors.push(`${at}: matches ${passing} of oneOf's schemas, not exactly 1`);
  }
  if (t === "array" && schema.items !== undefined) {
    (value as unknown[]).forEach((v, i) => errors.push(...schemaErrors(schema.items as Schema, v, root, `${at}[${i}]`)));
  }
  if (t === "object") {
    const o = value as Record<string, unknown>;
    for (const key of (schema.required as string[] | undefined) ?? []) if (!(key in o)) errors.push(`${at}: missing ${key}`);
    const props = (schema.properties ?? {}) as Record<string, Schema>;
    for (const [key, v] of Object.entries(o)) {
      if (props[key] !== undefined) errors.push(...schemaErrors(props[key], v, root, `${at}.${key}`));
      else if (schema.additionalProperties === false) errors.push(`${at}: unexpected ${key}`);
      else if (typeof schema.additionalProperties === "object") errors.push(...schemaErrors(schema.additionalProperties as Schema, v, root, `${at}.${key}`));
    }
  }
  return errors;
}

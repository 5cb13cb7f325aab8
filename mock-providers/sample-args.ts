// Tool-call arguments the mocks invent from a tool's schema, the same way in every format: enum → its
// first value, string "x", number/integer 1, boolean true, array [], object {}; a schema without
// properties gives {}. Types are matched case-insensitively: Gemini's Schema spells them upper-case
// (Type.STRING), JSON Schema lower-case.

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function sampleValue(schema: unknown): unknown {
  if (!isObject(schema)) return 'x';
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  const raw = Array.isArray(schema.type) ? schema.type.find((t) => String(t).toLowerCase() !== 'null') : schema.type;
  switch (String(raw).toLowerCase()) {
    case 'number':
    case 'integer':
      return 1;
    case 'boolean':
      return true;
    case 'array':
      return [];
    case 'object':
      return {};
    default:
      return 'x';
  }
}

/** Arguments for a tool whose parameters are `schema` (an object schema, or anything else: `{}`). */
export function sampleArgs(schema: unknown): Json {
  const props = isObject(schema) && isObject(schema.properties) ? schema.properties : {};
  const out: Json = {};
  for (const [name, prop] of Object.entries(props)) out[name] = sampleValue(prop);
  return out;
}

// What the Gemini API rejects with 400 INVALID_ARGUMENT, reproduced where it bites translators (providers.md
// §2.2, §2.4): roles other than user/model, empty parts, the functionCall → functionResponse pairing, a
// functionResponse without a name, inline images whose bytes contradict their mimeType, and thought signatures
// dropped across tool steps. Messages copy the API's wording where issue threads quote it (cited per rule);
// "(mock wording)" marks the few the mock had to invent. Pure functions: the first error found, or null.

import { isObject, sniffImage } from './anthropic-validate.ts';
import type { Json } from './anthropic-validate.ts';

export { isObject };
export type { Json };

/** The mock's thought signature: base64 of "mock-thought:" and FNV-1a of the call, so an edited call is caught. */
export function signCall(name: string, args: unknown): string {
  const s = name + JSON.stringify(args ?? {});
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return Buffer.from(`mock-thought:${(h >>> 0).toString(16).padStart(8, '0')}`).toString('base64');
}

const MOCK_SIGNATURE = Buffer.from('mock-thought:').toString('base64').slice(0, 16);

/** The dummy signatures Google documents for history it did not sign (ai.google.dev thought-signatures;
 *  Bifrost PR #2226 injects the first). */
const SKIP_SIGNATURES = new Set(['skip_thought_signature_validator', 'context_engineering_is_the_way_to_go']);

/** generationConfig.thinkingConfig is present and does not turn thinking off (thinkingBudget 0 does). */
export function thinkingOn(body: Json): boolean {
  const config = isObject(body.generationConfig) ? body.generationConfig.thinkingConfig : undefined;
  return isObject(config) && config.thinkingBudget !== 0;
}

/** A content's parts that are objects (the rest is caught by validation first). */
export const partsOf = (content: unknown): Json[] => (isObject(content) && Array.isArray(content.parts) ? content.parts.filter(isObject) : []);

/** An omitted role is a user turn: Google's own single-turn REST examples leave it out. */
export const roleOf = (content: Json): string => (content.role === undefined ? 'user' : String(content.role));

const callsOf = (content: Json | undefined): Json[] => partsOf(content).flatMap((p) => (isObject(p.functionCall) ? [p.functionCall] : []));
const responsesOf = (content: Json | undefined): Json[] => partsOf(content).flatMap((p) => (isObject(p.functionResponse) ? [p.functionResponse] : []));

/** The members of Part's `data` oneof: exactly one must be set. */
const DATA_FIELDS = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'];

// Quoted from API answers in issue threads: vercel/ai #3775, chatwise #250 (empty parts), CLIProxyAPI #1292 and
// genkit #3816 (a part without data, e.g. {"text": ""}), the Gemini 3.5 / genkit #5777 role change, langchain
// #27799 and gemini-cli #17208/#11814 (tool turns), CLIProxyAPI PR #2103 (functionResponse.name).
const NO_CONTENTS = '* GenerateContentRequest.contents: contents is not specified\n';
const emptyParts = (at: string) => `* GenerateContentRequest.${at}.parts: contents.parts must not be empty.\n`;
const noData = (at: string) => `* GenerateContentRequest.${at}.data: required oneof field 'data' must have one initialized field\n`;
const noName = (at: string) => `* GenerateContentRequest.${at}.name: Name cannot be empty.\n`;
const BAD_ROLE = 'Please use a valid role: user, model.';
const FR_AFTER_FC = 'Please ensure that function response turn comes immediately after a function call turn.';
const FC_AFTER_USER = 'Please ensure that function call turn comes immediately after a user turn or after a function response turn.';
const FR_COUNT = 'Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn.';
const BAD_IMAGE = 'Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting';
/** Google's proto-JSON type error, "Invalid value at 'field' (type), value". */
const invalidValue = (at: string, type: string, value: unknown): string => `Invalid value at '${at}' (${type}), ${JSON.stringify(value)}`;
const PROTO = 'type.googleapis.com/google.ai.generativelanguage.v1beta.';
const STRUCT = 'type.googleapis.com/google.protobuf.Struct';
/** Function names the API takes (gemini-cli #12425, ccs #219: MCP tool names that break it). */
const FUNCTION_NAME = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/;

/** Everything a generateContent / streamGenerateContent body must satisfy. */
export function validateGenerate(body: Json): string | null {
  const contents = body.contents;
  if (contents === undefined || (Array.isArray(contents) && contents.length === 0)) return NO_CONTENTS;
  if (!Array.isArray(contents)) return invalidValue('contents', `${PROTO}Content`, contents);
  return (
    checkConfig(body.generationConfig) ??
    checkSystem(body.systemInstruction) ??
    checkTools(body.tools) ??
    checkContents(contents) ??
    checkTurns(contents as Json[]) ??
    (thinkingOn(body) ? checkSignatures(contents as Json[]) : null)
  );
}

/** Proto types the mock relies on: maxOutputTokens is an int32 (a fraction would make a fractional chunk count). */
function checkConfig(config: unknown): string | null {
  if (config === undefined) return null;
  if (!isObject(config)) return invalidValue('generation_config', `${PROTO}GenerationConfig`, config);
  const max = config.maxOutputTokens;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max))) return invalidValue('generation_config.max_output_tokens', 'TYPE_INT32', max);
  return null;
}

/** `systemInstruction` is a Content: an object whose parts are non-empty (a bare string is a proto error). */
function checkSystem(system: unknown): string | null {
  if (system === undefined) return null;
  if (!isObject(system)) return invalidValue('system_instruction', `${PROTO}Content`, system);
  if (!Array.isArray(system.parts) || system.parts.length === 0) return emptyParts('system_instruction');
  return checkParts('system_instruction', system.parts);
}

function checkTools(tools: unknown): string | null {
  if (tools === undefined) return null;
  if (!Array.isArray(tools)) return invalidValue('tools', `${PROTO}Tool`, tools);
  for (let i = 0; i < tools.length; i++) {
    const decls = isObject(tools[i]) ? (tools[i] as Json).functionDeclarations : undefined;
    if (!Array.isArray(decls)) continue;
    for (let j = 0; j < decls.length; j++) {
      const name = isObject(decls[j]) ? (decls[j] as Json).name : undefined;
      if (typeof name !== 'string' || !FUNCTION_NAME.test(name)) {
        return (
          `The GenerateContentRequest proto is invalid:\n  * tools[${i}].function_declarations[${j}].name: [FIELD_INVALID] Invalid function name. ` +
          'Must start with a letter or an underscore. Must be a-z, A-Z, 0-9, or contain underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 64.'
        );
      }
    }
  }
  return null;
}

/** Per content: a valid role and non-empty parts, each part valid. */
function checkContents(contents: unknown[]): string | null {
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i];
    const at = `contents[${i}]`;
    if (!isObject(c)) return invalidValue(at, `${PROTO}Content`, c);
    // Older models took role "function" for tool results (Portkey still sends it); Gemini 3.5 refuses it.
    if (c.role !== undefined && c.role !== 'user' && c.role !== 'model') return BAD_ROLE;
    if (!Array.isArray(c.parts) || c.parts.length === 0) return emptyParts(at);
    const bad = checkParts(at, c.parts);
    if (bad !== null) return bad;
  }
  return null;
}

/** Each part sets exactly one `data` member; an empty text counts as unset (proto drops it). */
function checkParts(at: string, parts: unknown[]): string | null {
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j];
    const here = `${at}.parts[${j}]`;
    if (!isObject(p)) return noData(here);
    const set = DATA_FIELDS.filter((f) => p[f] !== undefined && p[f] !== null && p[f] !== '');
    if (set.length === 0) return noData(here);
    if (set.length > 1) return `Invalid JSON payload received. Oneof field 'data' is already set. Cannot set '${set[1]}'`;
    let bad: string | null = null;
    switch (set[0]) {
      case 'text':
        if (typeof p.text !== 'string') bad = invalidValue(`${here}.text`, 'TYPE_STRING', p.text);
        break;
      case 'functionCall': {
        const fc = p.functionCall;
        if (!isObject(fc) || typeof fc.name !== 'string' || fc.name === '') bad = noName(`${here}.function_call`);
        else if (fc.args !== undefined && !isObject(fc.args)) bad = invalidValue(`${here}.function_call.args`, STRUCT, fc.args);
        break;
      }
      case 'functionResponse': {
        const fr = p.functionResponse;
        if (!isObject(fr) || typeof fr.name !== 'string' || fr.name === '') bad = noName(`${here}.function_response`);
        // A bare string result is the translator bug gateways work around by wrapping it as {output: …} (§2.2).
        else if (fr.response !== undefined && !isObject(fr.response)) bad = invalidValue(`${here}.function_response.response`, STRUCT, fr.response);
        break;
      }
      case 'inlineData':
        bad = checkInline(here, p.inlineData);
        break;
    }
    if (bad !== null) return bad;
  }
  return null;
}

const SNIFFABLE = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** mimeType and base64 data are required; an image's bytes must be what its mimeType says (LiteLLM #24900 is
 *  the same trap on Anthropic). Types the mock cannot sniff (heic, pdf, audio, …) pass. */
function checkInline(here: string, blob: unknown): string | null {
  const at = `* GenerateContentRequest.${here}.inline_data`;
  if (!isObject(blob) || typeof blob.mimeType !== 'string' || blob.mimeType === '') return `${at}.mime_type: mime_type is required.\n`; // (mock wording)
  if (typeof blob.data !== 'string' || blob.data === '') return `${at}.data: data is required.\n`; // (mock wording)
  if (!BASE64.test(blob.data)) return `Invalid value at '${here}.inline_data.data' (TYPE_BYTES), Base64 decoding failed`;
  if (SNIFFABLE.has(blob.mimeType) && sniffImage(blob.data) !== blob.mimeType) return BAD_IMAGE;
  return null;
}

/**
 * The tool-turn rules (§2.4): a model turn with functionCall parts follows a user turn and is answered by the
 * very next turn, a user turn holding exactly one functionResponse per call. Responses pair with calls by `id`
 * when both carry one, else by name (Gemini often omits ids).
 */
function checkTurns(contents: Json[]): string | null {
  for (let i = 0; i < contents.length; i++) {
    const c = contents[i]!;
    const responses = responsesOf(c);
    if (responses.length > 0) {
      const prev = contents[i - 1];
      const calls = prev !== undefined && roleOf(prev) === 'model' ? callsOf(prev) : [];
      if (roleOf(c) !== 'user' || calls.length === 0) return FR_AFTER_FC;
      if (responses.length !== calls.length) return FR_COUNT;
      const open = [...calls];
      for (const r of responses) {
        const k = open.findIndex((fc) => (typeof fc.id === 'string' && typeof r.id === 'string' ? fc.id === r.id : fc.name === r.name));
        if (k < 0) {
          const which = typeof r.id === 'string' ? `id \`${r.id}\`` : `name \`${String(r.name)}\``;
          // (mock wording)
          return `Please ensure that each function response part matches a function call part of the function call turn: none has the ${which}.`;
        }
        open.splice(k, 1);
      }
    }
    if (roleOf(c) === 'model' && callsOf(c).length > 0) {
      const prev = contents[i - 1];
      if (prev === undefined || roleOf(prev) !== 'user') return FC_AFTER_USER;
      const next = contents[i + 1];
      if (next !== undefined && responsesOf(next).length === 0) return FR_COUNT;
    }
  }
  return null;
}

/**
 * With thinking on, every model turn of the current turn (after the last user message that is not only function
 * responses) must carry a thought signature on its first functionCall part: Google signs only the first call of
 * a parallel set and validates only the current turn (ai.google.dev thought-signatures; Bifrost #1437). The
 * "position" is the content's 1-based index, as the API's "position 2" for a first tool step suggests.
 */
function checkSignatures(contents: Json[]): string | null {
  let start = 0;
  for (let i = contents.length - 1; i >= 0; i--) {
    const c = contents[i]!;
    if (roleOf(c) === 'user' && partsOf(c).some((p) => !isObject(p.functionResponse))) {
      start = i + 1;
      break;
    }
  }
  for (let i = start; i < contents.length; i++) {
    const c = contents[i]!;
    if (roleOf(c) !== 'model') continue;
    const first = partsOf(c).find((p) => isObject(p.functionCall));
    if (first === undefined) continue;
    const fc = first.functionCall as Json;
    const sig = first.thoughtSignature;
    if (typeof sig !== 'string' || sig === '') {
      return (
        'Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing ' +
        `thought_signature may lead to degraded model performance. Additional data, function call \`default_api:${String(fc.name)}\` , position ${i + 1}. ` +
        'Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details.'
      );
    }
    // Only the mock's own signatures are verifiable; the documented dummies and foreign ones pass.
    const forged = !SKIP_SIGNATURES.has(sig) && sig.startsWith(MOCK_SIGNATURE) && sig !== signCall(String(fc.name), fc.args);
    if (forged) return 'Corrupted thought signature.';
  }
  return null;
}

export interface EmbedItem {
  text: string;
  dims: number;
}

const MAX_DIMS = 8192;
const DEFAULT_DIMS = 8; // like the OpenAI route: short bodies (the real default is 3072)

/** One EmbedContentRequest (alone, or one of a batch at `at`): text parts, optional outputDimensionality. */
function embedItem(req: unknown, at: string, name: string): EmbedItem | string {
  if (!isObject(req)) return invalidValue(at, `${PROTO}EmbedContentRequest`, req);
  const content = req.content;
  const prefix = `* ${name}.${at === '' ? '' : `${at}.`}`;
  if (!isObject(content)) return `${prefix}content: content is not specified\n`;
  if (!Array.isArray(content.parts) || content.parts.length === 0) return `${prefix}content.parts: contents.parts must not be empty.\n`;
  const texts: string[] = [];
  for (let j = 0; j < content.parts.length; j++) {
    const p = content.parts[j];
    const text = isObject(p) ? p.text : undefined;
    if (typeof text !== 'string' || text === '') return `${prefix}content.parts[${j}].data: required oneof field 'data' must have one initialized field\n`;
    texts.push(text);
  }
  const dims = req.outputDimensionality ?? DEFAULT_DIMS;
  if (typeof dims !== 'number' || !Number.isInteger(dims) || dims < 1 || dims > MAX_DIMS) {
    return `${prefix}output_dimensionality: must be an integer from 1 to ${MAX_DIMS}.\n`; // (mock wording)
  }
  return { text: texts.join(' '), dims };
}

/** :embedContent takes one request; :batchEmbedContents a list whose every `model` names the URL's model. */
export function embedItems(body: Json, model: string, batch: boolean): EmbedItem[] | string {
  if (!batch) {
    const item = embedItem(body, '', 'EmbedContentRequest');
    return typeof item === 'string' ? item : [item];
  }
  const requests = body.requests;
  if (!Array.isArray(requests) || requests.length === 0) return '* BatchEmbedContentsRequest.requests: requests is not specified\n';
  const items: EmbedItem[] = [];
  for (let i = 0; i < requests.length; i++) {
    const req: unknown = requests[i];
    const named = isObject(req) ? req.model : undefined;
    if (typeof named !== 'string' || named.replace(/^models\//, '') !== model) {
      return `* BatchEmbedContentsRequest.requests[${i}].model: the model must be the one in the URL, models/${model}.\n`; // (mock wording)
    }
    const item = embedItem(req, `requests[${i}]`, 'BatchEmbedContentsRequest');
    if (typeof item === 'string') return item;
    items.push(item);
  }
  return items;
}

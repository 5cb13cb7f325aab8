// The canonical request → Gemini generateContent. https://ai.google.dev/api/generate-content
// Traps (providers.md §2.4, §5): roles are "user" and "model", and alternate (so function responses and
// the user's next words share one turn); a functionResponse needs the function's name, which only the
// earlier functionCall has (looked up by id in the conversation), and its result goes under the
// documented "output" key; Gemini 3 validates thought signatures whatever the thinking level, on the
// first call of each step, so a turn whose calls carry none gets the documented
// "skip_thought_signature_validator" on its first; tools take full JSON Schema in
// parametersJsonSchema (OpenAI's strict schemas use additionalProperties, which `parameters` refuses);
// empty parts are refused.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalEmbeddingsRequest, CanonicalField, CanonicalRequest, ToolResultBlock } from '../canonical.ts';

type Obj = Record<string, unknown>;

/** Google's documented stand-in for a missing thought signature (ai.google.dev, "Thought signatures"). */
export const SKIP_SIGNATURE = 'skip_thought_signature_validator';

function bad(message: string, param: string): GatewayError {
  return new GatewayError('invalid_parameter', message, { param });
}

function resultText(r: ToolResultBlock): string {
  if (r.content === undefined) return '';
  if (typeof r.content === 'string') return r.content;
  let text = '';
  for (const c of r.content) if (c.type === 'text') text += c.text;
  else if (c.type === 'document' && c.source.type === 'text') text += c.source.data;
  return text;
}

function mediaPart(b: Block, at: string): Obj {
  if (b.type !== 'image' && b.type !== 'document') throw bad(`'${at}' has no Gemini equivalent.`, at);
  // A plain-text document is text to Gemini (it was refused as if it were a URL).
  if (b.source.type === 'text') return { text: b.source.data };
  // fileData needs a Files-API URI: a plain https URL would be refused by Gemini.
  if (b.source.type !== 'base64') throw bad(`'${at}': Gemini takes images and documents as inline data, not URLs.`, 'messages');
  return { inlineData: { mimeType: b.source.media_type, data: b.source.data } };
}

function contents(r: CanonicalRequest, multimodalResults: boolean, dropped: CanonicalField[]): Obj[] {
  // Tool-call id → function name, from the assistant turns read so far: a functionResponse must name
  // its function, and an id a client reuses on a later turn must not rename an earlier call's result.
  const names = new Map<string, string>();
  const out: Obj[] = [];
  // Turns alternate: a turn right after one of the same role joins it (function responses, then the
  // user's next words, say).
  const push = (role: 'user' | 'model', parts: Obj[]): void => {
    if (parts.length === 0) return;
    const last = out[out.length - 1];
    if (last !== undefined && last.role === role) (last.parts as Obj[]).push(...parts);
    else out.push({ role, parts });
  };
  r.messages.forEach((m, i) => {
    const at = `messages[${i}]`;
    if (typeof m.content === 'string') {
      if (m.content !== '') push(m.role === 'assistant' ? 'model' : 'user', [{ text: m.content }]);
      return;
    }
    if (m.role === 'assistant') {
      const parts: Obj[] = [];
      let first: Obj | null = null;
      let signed = false;
      for (const b of m.content) {
        if (b.type === 'text' && b.text !== '') parts.push({ text: b.text });
        else if (b.type === 'tool_use') {
          names.set(b.id, b.name);
          const part: Obj = { functionCall: { name: b.name, args: b.input, id: b.id } };
          if (b.signature !== undefined) {
            part.thoughtSignature = b.signature;
            signed = true;
          }
          first ??= part;
          parts.push(part);
        }
        // Thinking from another provider's turn means nothing to Gemini: it stays behind.
      }
      if (first !== null && !signed) first.thoughtSignature = SKIP_SIGNATURE;
      push('model', parts);
      return;
    }
    // A user turn: the function responses first, then the rest of it.
    const responses: Obj[] = [];
    const parts: Obj[] = [];
    m.content.forEach((b, j) => {
      if (b.type === 'tool_result') {
        const name = names.get(b.tool_use_id);
        if (name === undefined) throw bad(`'${at}': a tool result answers a call (${b.tool_use_id}) that no assistant turn made.`, 'messages');
        // "Use 'output' key to specify function output and 'error' key to specify error details" (FunctionResponse).
        const fr: Obj = { name, id: b.tool_use_id, response: b.is_error === true ? { error: resultText(b) } : { output: resultText(b) } };
        // The result's images and documents: Gemini 3 takes them inside the function response
        // (FunctionResponse.parts, FunctionResponsePart.inlineData; v1beta reference, "multimodal
        // function responses"). Earlier models take none there, and refuse them beside it (calls and
        // responses pair one to one), so for those they are left out, and named in x-microgate-dropped.
        if (typeof b.content !== 'string') {
          const parts: Obj[] = [];
          (b.content ?? []).forEach((c, k) => {
            // Text, a plain-text document's too, is in the output above.
            if (c.type === 'text' || (c.type === 'document' && c.source.type === 'text')) return;
            if (multimodalResults) parts.push(mediaPart(c, `${at}.content[${j}].content[${k}]`));
            else {
              const field = c.type === 'image' ? 'tool_result_image' : 'tool_result_document';
              if (!dropped.includes(field)) dropped.push(field);
            }
          });
          if (parts.length > 0) fr.parts = parts;
        }
        responses.push({ functionResponse: fr });
      } else if (b.type === 'text') {
        if (b.text !== '') parts.push({ text: b.text });
      } else parts.push(mediaPart(b, `${at}.content[${j}]`));
    });
    push('user', [...responses, ...parts]);
  });
  return out;
}

/** Gemini 2.5 Flash and Flash-Lite: the models whose thinking can be turned off (thinkingBudget 0). */
const THINKING_OPTIONAL = /^(?:models\/)?gemini-2\.5-flash/;

/**
 * Anthropic's thinking as Gemini's thinkingConfig (ThinkingConfig, v1beta reference; "Gemini thinking"
 * guide): a budget as it is; adaptive is Gemini's dynamic budget (-1); disabled is a budget of 0 where
 * the model may stop thinking (2.5 Flash and Flash-Lite think by default, and bill for it, unless told
 * so), and nothing elsewhere (2.5 Pro and Gemini 3 refuse a budget of 0: they always think).
 */
function thinkingConfig(r: CanonicalRequest, model: string): Obj | null {
  const t = r.thinking;
  if (t === null) return null;
  if (t.type === 'enabled') return { thinkingBudget: t.budget_tokens, includeThoughts: true };
  if (t.type === 'adaptive') return { thinkingBudget: -1, includeThoughts: true };
  return THINKING_OPTIONAL.test(model) ? { thinkingBudget: 0 } : null;
}

/** Models that take media inside a function response (Gemini 3 and later). */
const MULTIMODAL_RESULTS = /^(?:models\/)?gemini-(?:[3-9]|\d{2,})/;

export function geminiFromCanonical(r: CanonicalRequest, model = '', dropped: CanonicalField[] = []): Obj {
  const turns = contents(r, MULTIMODAL_RESULTS.test(model), dropped);
  // Gemini's own words for it name a field the client never sent ("contents is not specified").
  if (turns.length === 0) throw bad("'messages' holds no turn with content to send.", 'messages');
  const out: Obj = { contents: turns };
  // Blank system blocks are left out, and an instruction without any: Gemini refuses an empty text part
  // and empty parts (the rules its generateContent applies to contents; Bedrock's codec does the same).
  const system = (r.system ?? []).filter((s) => s.text.trim() !== '');
  if (system.length > 0) out.systemInstruction = { parts: system.map((s) => ({ text: s.text })) };
  const gen: Obj = {};
  if (r.maxTokens !== null) gen.maxOutputTokens = r.maxTokens;
  if (r.temperature !== null) gen.temperature = r.temperature;
  if (r.topP !== null) gen.topP = r.topP;
  if (r.topK !== null) gen.topK = r.topK;
  if (r.stop !== null && r.stop.length > 0) gen.stopSequences = r.stop;
  if (r.jsonSchema !== null) {
    gen.responseMimeType = 'application/json';
    gen.responseJsonSchema = r.jsonSchema.schema;
  } else if (r.jsonObject) gen.responseMimeType = 'application/json';
  const thinking = thinkingConfig(r, model);
  if (thinking !== null) gen.thinkingConfig = thinking;
  else if (r.thinking !== null) dropped.push('thinking');
  // Gemini has no end-user id, nor a switch for parallel function calls (a `true` asks for the default).
  if (r.user !== null) dropped.push('user');
  if (r.parallelToolCalls === false) dropped.push('parallel_tool_calls');
  if (Object.keys(gen).length > 0) out.generationConfig = gen;
  if (r.tools !== null && r.tools.length > 0) {
    out.tools = [{ functionDeclarations: r.tools.map((t) => ({ name: t.name, ...(t.description === undefined ? {} : { description: t.description }), parametersJsonSchema: t.input_schema })) }];
  }
  const tc = r.toolChoice;
  if (tc !== null) {
    const mode = tc.type === 'none' ? 'NONE' : tc.type === 'auto' ? 'AUTO' : 'ANY';
    out.toolConfig = { functionCallingConfig: tc.type === 'tool' ? { mode, allowedFunctionNames: [tc.name] } : { mode } };
  }
  return out;
}

/** OpenAI embeddings in canonical form → batchEmbedContents (https://ai.google.dev/api/embeddings). */
export function embeddingsFromCanonical(r: CanonicalEmbeddingsRequest, model: string): Obj {
  return {
    requests: r.inputs.map((text) => ({ model: `models/${model}`, content: { parts: [{ text }] }, ...(r.dimensions === null ? {} : { outputDimensionality: r.dimensions }) })),
  };
}

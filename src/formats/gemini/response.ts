// Gemini answers → canonical. https://ai.google.dev/api/generate-content#generatecontentresponse
// finishReason STOP also ends a turn that called functions (LiteLLM #21041, #12481): a turn with
// function calls is a tool turn. Gemini may leave function calls without ids: they get
// "call_<responseId>_<n>" (callIdPrefix), which the client echoes back, and the name is found again
// from the turn before the result (request.ts).
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../../errors/gateway-error.ts';
import type { Block, CanonicalEmbeddings, CanonicalResponse, StopReason, Usage } from '../canonical.ts';
import { isObj, type Obj } from '../../util/json-object.ts';

const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY']);

export function stopReasonOf(finish: unknown, hadCalls: boolean): StopReason {
  if (finish === 'MAX_TOKENS') return 'max_tokens';
  if (typeof finish === 'string' && FILTERED.has(finish)) return 'refusal';
  return hadCalls ? 'tool_use' : 'end_turn';
}

/** usageMetadata → canonical: cached tokens are part of the prompt count, thoughts part of the output. */
export function usageOf(u: unknown): Usage | null {
  if (!isObj(u)) return null;
  const cached = int(u.cachedContentTokenCount);
  const thoughts = int(u.thoughtsTokenCount);
  // The results of Gemini's own tools (code execution, search) read back into the prompt are counted
  // apart, in toolUsePromptTokenCount, and billed as input: totalTokenCount = prompt + tool-use prompt +
  // candidates + thoughts (providers.md §2.3; GenerateContentResponse.UsageMetadata).
  const input = int(u.promptTokenCount) + int(u.toolUsePromptTokenCount);
  const out: Usage = { input: Math.max(0, input - cached), output: int(u.candidatesTokenCount) + thoughts, cacheRead: cached, cacheWrite: 0 };
  if (thoughts > 0) out.reasoning = thoughts;
  return out;
}

/** The answer was blocked before any candidate: a client error, not a provider failure to retry. */
export function blocked(j: Obj): GatewayError | null {
  if (Array.isArray(j.candidates) && j.candidates.length > 0) return null;
  const reason = isObj(j.promptFeedback) ? j.promptFeedback.blockReason : undefined;
  return new GatewayError('content_filter', `The provider blocked the prompt${typeof reason === 'string' ? ` (${reason})` : ''}.`);
}

/**
 * The id of a function call Gemini sent without one (it usually does): unique across the
 * conversation, not only within the answer. Numbering alone (call_0, call_1) repeated on every turn:
 * a later turn's call_0 then took the name of an earlier one's result, and Anthropic refuses a
 * conversation whose tool_use ids repeat (providers.md §2.4: synthesise an id; Portkey mints a uuid).
 * The answer's responseId makes it unique and keeps it stable for the same answer; ids keep to
 * [A-Za-z0-9_-], which Anthropic and Bedrock require.
 */
export function callIdPrefix(responseId: unknown): string {
  const id = typeof responseId === 'string' ? responseId.replace(/[^A-Za-z0-9_-]/g, '') : '';
  return `call_${id !== '' ? id : randomBytes(9).toString('base64url')}_`;
}

/** The parts of one candidate → blocks; `callsSoFar` numbers calls without ids across a stream. */
export function partsToBlocks(parts: unknown, callsSoFar: number, idPrefix: string): Block[] {
  const out: Block[] = [];
  if (!Array.isArray(parts)) return out;
  let calls = callsSoFar;
  for (const p of parts) {
    if (!isObj(p)) continue;
    if (isObj(p.functionCall)) {
      const f = p.functionCall;
      const use: Block = { type: 'tool_use', id: typeof f.id === 'string' && f.id !== '' ? f.id : `${idPrefix}${calls}`, name: typeof f.name === 'string' ? f.name : '', input: isObj(f.args) ? f.args : {} };
      if (typeof p.thoughtSignature === 'string') use.signature = p.thoughtSignature;
      out.push(use);
      calls++;
    } else if (typeof p.text === 'string') {
      if (p.thought === true) out.push({ type: 'thinking', thinking: p.text, signature: typeof p.thoughtSignature === 'string' ? p.thoughtSignature : '' });
      else if (p.text !== '') out.push({ type: 'text', text: p.text });
    }
  }
  return out;
}

function parse(body: Buffer): Obj {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('upstream_bad_response', "The provider's answer is not JSON.");
  }
  if (!isObj(j)) throw new GatewayError('upstream_bad_response', "The provider's answer is not a generateContent response.");
  return j;
}

export function geminiToCanonical(body: Buffer): CanonicalResponse {
  const j = parse(body);
  const stop = blocked(j);
  if (stop !== null) throw stop;
  const c = (j.candidates as unknown[])[0];
  const cand = isObj(c) ? c : {};
  const content = partsToBlocks(isObj(cand.content) ? cand.content.parts : undefined, 0, callIdPrefix(j.responseId));
  return {
    id: typeof j.responseId === 'string' ? j.responseId : '',
    model: typeof j.modelVersion === 'string' ? j.modelVersion : '',
    content,
    stopReason: stopReasonOf(cand.finishReason, content.some((b) => b.type === 'tool_use')),
    stopSequence: null,
    usage: usageOf(j.usageMetadata),
  };
}

export function embeddingsToCanonical(body: Buffer, model: string): CanonicalEmbeddings {
  const j = parse(body);
  const list = Array.isArray(j.embeddings) ? j.embeddings : isObj(j.embedding) ? [j.embedding] : null;
  if (list === null) throw new GatewayError('upstream_bad_response', "The provider's answer has no embeddings.");
  return { model, vectors: list.map((e) => (isObj(e) && Array.isArray(e.values) ? (e.values as number[]) : [])), promptTokens: 0 };
}

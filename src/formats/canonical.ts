// The one shape every wire format translates to and from, so N formats need N translators, not N².
//
// It is the Anthropic Messages block model (system apart; user and assistant turns of typed blocks;
// tool calls and results as blocks; thinking with its signature), because that is the richest of
// the formats microgate speaks: Gemini and Bedrock Converse are block models too, and OpenAI's chat
// maps into it without loss. What the peers lost in translation they lost in a poorer intermediate
// shape (shared/reference/providers.md §8): here reasoning state, cache reads and writes, native stop
// reasons and provider ids travel end to end.
//
// Translation only: a request whose client and provider speak the same format never becomes one of
// these (it is relayed as bytes, with `model` spliced in).

import type { SurfaceKind } from './openai/surface.ts';

/**
 * The request kinds of the gateway's routes. /v1/messages is a chat in the Anthropic dialect; /v1/responses
 * is OpenAI's Responses API, served natively by providers that have it and as a chat by the others;
 * /v1/messages/count_tokens counts a Messages request's input tokens with the provider's own tokenizer.
 */
export type EndpointName = 'chat' | 'completions' | 'embeddings' | 'responses' | 'count_tokens' | SurfaceKind;

export type CacheControl = { type: 'ephemeral'; ttl?: string };

export interface TextBlock {
  type: 'text';
  text: string;
  cache_control?: CacheControl;
}

export interface ImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
  cache_control?: CacheControl;
  /** OpenAI's image `detail` (chat image_url.detail, Responses input_image.detail): only the OpenAI codec sends it. */
  detail?: 'low' | 'high' | 'auto';
}

export interface DocumentBlock {
  type: 'document';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } | { type: 'text'; media_type: 'text/plain'; data: string };
  /** Its name: Anthropic's `title`, OpenAI's `file.filename` (which Chat Completions requires with file_data). */
  title?: string;
  cache_control?: CacheControl;
}

export interface ToolUseBlock {
  type: 'tool_use';
  id: string;
  name: string;
  /** Always an object (OpenAI's arguments string is parsed; "" is {}). */
  input: Record<string, unknown>;
  cache_control?: CacheControl;
  /**
   * Gemini's thoughtSignature on a function call: opaque, and required back on the next turn when the
   * model thinks (providers.md §2.4, Bifrost #1437). Not an Anthropic field: never sent to Anthropic.
   */
  signature?: string;
  /**
   * In an answer: the provider's own arguments text, when it sent text (OpenAI), so that a client
   * whose format carries text gets it verbatim (Responses fixture tool-calls-to-function-call-items).
   * Not an Anthropic field.
   */
  arguments?: string;
}

export interface ToolResultBlock {
  type: 'tool_result';
  tool_use_id: string;
  content?: string | Array<TextBlock | ImageBlock | DocumentBlock>;
  is_error?: boolean;
  cache_control?: CacheControl;
}

/** Reasoning with its opaque signature: returned to the provider byte-exact, in order, or the next turn fails. */
export interface ThinkingBlock {
  type: 'thinking';
  thinking: string;
  signature: string;
}

export interface RedactedThinkingBlock {
  type: 'redacted_thinking';
  data: string;
}

export type Block = TextBlock | ImageBlock | DocumentBlock | ToolUseBlock | ToolResultBlock | ThinkingBlock | RedactedThinkingBlock;

export interface Message {
  role: 'user' | 'assistant';
  /** A string is kept a string: the formats that allow it send it back the way the client wrote it. */
  content: string | Block[];
}

export interface Tool {
  name: string;
  description?: string;
  /** JSON Schema, every keyword kept. */
  input_schema: Record<string, unknown>;
  cache_control?: CacheControl;
  /** OpenAI's strict schema adherence: only the OpenAI codec sends it (Anthropic ignores it: providers.md §1.12). */
  strict?: boolean;
}

export type ToolChoice = { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string };

export type Thinking = { type: 'enabled'; budget_tokens: number } | { type: 'adaptive' } | { type: 'disabled' };

export interface CanonicalRequest {
  model: string;
  system: TextBlock[] | null;
  messages: Message[];
  /** null: the client gave none (a format that needs one supplies its default). */
  maxTokens: number | null;
  temperature: number | null;
  topP: number | null;
  topK: number | null;
  stop: string[] | null;
  stream: boolean;
  /** The client asked for usage in its stream (OpenAI `stream_options.include_usage`). */
  includeUsage: boolean;
  tools: Tool[] | null;
  toolChoice: ToolChoice | null;
  /** false: at most one tool call per turn. null: the client did not say. */
  parallelToolCalls: boolean | null;
  /** Structured output: answer as JSON matching this schema. */
  jsonSchema: { name: string | null; schema: Record<string, unknown>; strict: boolean | null; description?: string } | null;
  /** Answer as some JSON object, no schema (OpenAI json_object): Gemini can, Anthropic and Bedrock refuse it. */
  jsonObject: boolean;
  thinking: Thinking | null;
  /** The client's own reasoning effort word (OpenAI reasoning_effort, Responses reasoning.effort), for a provider that takes the word. */
  reasoningEffort?: string;
  /** An opaque end-user id (OpenAI `user`, Anthropic `metadata.user_id`). */
  user: string | null;
  /** Fields of the client's request the translation dropped (counted, and named in x-microgate-dropped). */
  dropped: string[];
}

/**
 * A canonical field a provider's codec may leave out (a value the provider refuses, a field it has no
 * place for): each dialect names it in its own words for x-microgate-dropped (Dialect.fieldName).
 */
export type CanonicalField = 'temperature' | 'top_p' | 'top_k' | 'stop' | 'thinking' | 'user' | 'parallel_tool_calls' | 'tool_result_image' | 'tool_result_document';

/** Why a turn ended, in Anthropic's words; each dialect maps them to its own. */
export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'pause_turn' | 'refusal' | 'model_context_window_exceeded';

/**
 * Token usage with cache reads and writes apart from fresh input (Anthropic's semantics: `input`
 * excludes both). OpenAI's prompt_tokens is input + cacheRead + cacheWrite.
 */
export interface Usage {
  input: number;
  /** All output, reasoning included. */
  output: number;
  cacheRead: number;
  cacheWrite: number;
  /** Of `output`, the reasoning (OpenAI reasoning_tokens, Gemini thoughtsTokenCount), when reported. */
  reasoning?: number;
}

export interface CanonicalResponse {
  /** The provider's own id (msg_…, chatcmpl-…): kept. */
  id: string;
  model: string;
  content: Block[];
  stopReason: StopReason;
  stopSequence: string | null;
  usage: Usage | null;
  /** The model's refusal (OpenAI message.refusal), apart from its content. */
  refusal?: string;
}

/**
 * One step of a translated stream. Decoders (provider format → these) keep their own state; encoders
 * (these → client format) keep theirs. `index` of tool events counts tool calls (0, 1, …), never
 * content blocks.
 */
export type StreamEvent =
  | { type: 'start'; id: string; model: string; usage: Usage | null }
  | { type: 'text'; text: string }
  /** The model's refusal (OpenAI delta.refusal), apart from its text: CanonicalResponse.refusal of a stream. */
  | { type: 'refusal'; text: string }
  | { type: 'thinking'; text: string }
  /** The signature of the thinking block in progress, which it ends. */
  | { type: 'signature'; signature: string }
  | { type: 'redacted_thinking'; data: string }
  /** `args`: the whole arguments, when the provider sends a call whole (Gemini) rather than in fragments. */
  | { type: 'tool_start'; index: number; id: string; name: string; signature?: string; args?: string }
  | { type: 'tool_args'; index: number; fragment: string }
  | { type: 'finish'; stopReason: StopReason; stopSequence: string | null }
  /** Cumulative: the latest values replace earlier ones, never add to them. */
  | { type: 'usage'; usage: Usage }
  /** The provider's in-stream error (the HTTP status was already 200). */
  | { type: 'error'; errorType: string; message: string }
  /** The provider's stream ended as it should. */
  | { type: 'end' };

/**
 * Embeddings in canonical form (OpenAI /v1/embeddings to a provider of another format): one vector
 * per input text.
 */
export interface CanonicalEmbeddingsRequest {
  model: string;
  inputs: string[];
  dimensions: number | null;
  /** OpenAI's `encoding_format: base64`: vectors as base64 of little-endian float32. */
  base64: boolean;
}

export interface CanonicalEmbeddings {
  model: string;
  vectors: number[][];
  promptTokens: number;
}

export const ZERO_USAGE: Readonly<Usage> = Object.freeze({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 });

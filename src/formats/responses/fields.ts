// The one table of OpenAI Responses API request fields (POST /v1/responses), for a provider of another
// format: each is mapped into the canonical request, dropped (and counted, and named in
// `x-microgate-dropped`), or refused with a 400 when it needs state the gateway does not keep. A field
// not in the table is dropped and counted as unknown, as in the chat dialect (openai/fields.ts).
// Sources: openai-node 6.49 `ResponseCreateParamsBase`, and the decisions in
// test/fixtures/conformance/responses/README.md ("Refused, not dropped", "Dropped upstream").
import type { FieldFate } from '../openai/fields.ts';

export const RESPONSES_FIELDS: Readonly<Record<string, FieldFate>> = {
  model: 'mapped',
  input: 'mapped',
  instructions: 'mapped', // the first system text
  max_output_tokens: 'mapped',
  temperature: 'mapped',
  top_p: 'mapped',
  stream: 'mapped',
  tools: 'mapped', // function tools; a built-in tool is refused
  tool_choice: 'mapped',
  parallel_tool_calls: 'mapped',
  text: 'mapped', // format; `text.verbosity` is dropped
  reasoning: 'mapped', // effort; `reasoning.summary` is dropped
  user: 'mapped',
  // Stored server-side state the gateway does not have (README "Refused, not dropped").
  previous_response_id: 'refused-if-set',
  conversation: 'refused-if-set',
  background: 'refused-if-set', // true
  prompt: 'refused-if-set', // a stored prompt template
  // Echoed in the Response (metadata, truncation) or meaningful only at OpenAI.
  metadata: 'dropped',
  store: 'dropped',
  include: 'dropped',
  truncation: 'dropped', // even "auto": the gateway does not know the context window
  service_tier: 'dropped',
  prompt_cache_key: 'dropped',
  prompt_cache_retention: 'dropped',
  prompt_cache_options: 'dropped',
  safety_identifier: 'dropped',
  top_logprobs: 'dropped',
  stream_options: 'dropped', // include_obfuscation; usage is always in response.completed
  context_management: 'dropped',
  moderation: 'dropped',
  max_tool_calls: 'dropped', // a limit on built-in tool calls, which are refused anyway
  // The gateway's own field, spliced out before any provider sees it.
  fallbacks: 'mapped',
};

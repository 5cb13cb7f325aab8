// The one table of OpenAI chat.completions request fields, for a provider of another format: each is
// mapped into the canonical request, dropped (and counted, and named in `x-microgate-dropped`), or
// refused with a 400 when the client asked for something the translation cannot give (a second
// choice, log-probabilities, audio). A field not in the table is dropped and counted as unknown.
// Refusals depend on the value: `n: 1` is fine, `n: 2` is not. Sources: the OpenAI API reference
// (platform.openai.com/docs/api-reference/chat/create) and shared/reference/providers.md §1.7.

export type FieldFate = 'mapped' | 'dropped' | 'refused-if-set';

export const CHAT_FIELDS: Readonly<Record<string, FieldFate>> = {
  model: 'mapped',
  messages: 'mapped',
  max_tokens: 'mapped',
  max_completion_tokens: 'mapped',
  temperature: 'mapped',
  top_p: 'mapped',
  stop: 'mapped',
  stream: 'mapped',
  stream_options: 'mapped', // include_usage only
  tools: 'mapped',
  tool_choice: 'mapped',
  parallel_tool_calls: 'mapped',
  response_format: 'mapped', // json_schema; json_object is refused
  reasoning_effort: 'mapped',
  user: 'mapped',
  n: 'refused-if-set', // > 1
  logprobs: 'refused-if-set', // true
  audio: 'refused-if-set',
  modalities: 'refused-if-set', // containing "audio"
  presence_penalty: 'dropped',
  frequency_penalty: 'dropped',
  seed: 'dropped',
  logit_bias: 'dropped',
  store: 'dropped',
  service_tier: 'dropped',
  prediction: 'dropped',
  top_logprobs: 'dropped',
  metadata: 'dropped',
  web_search_options: 'dropped',
  safety_identifier: 'dropped',
  prompt_cache_key: 'dropped',
  verbosity: 'dropped',
  // The gateway's own field, spliced out before any provider sees it.
  fallbacks: 'mapped',
};

/** How many fields the table maps, drops and refuses (for the README and the issue note). */
export function fieldCounts(): Record<FieldFate, number> {
  const out: Record<FieldFate, number> = { mapped: 0, dropped: 0, 'refused-if-set': 0 };
  for (const fate of Object.values(CHAT_FIELDS)) out[fate]++;
  return out;
}

// Token counts from an OpenAI-format answer, for telemetry and cost. The `usage` object sits at the
// end of a JSON body, and in the last chunk of a stream with stream_options.include_usage
// (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage). A Responses API answer
// (relayed to a provider that has the API) says input_tokens / output_tokens, in its body and in the
// response.completed event (https://platform.openai.com/docs/api-reference/responses/object#usage).
import { LastNumbers } from '../usage-scan.ts';

const PROMPT = 0;
const COMPLETION = 1;
const INPUT = 2;
const OUTPUT = 3;
const CACHED = 4;
/** openai-node 6.49's prompt_tokens_details.cache_write_tokens; LiteLLM's top-level cache_creation_input_tokens. */
const CACHE_WRITE = 5;
const CACHE_CREATION = 6;
/** DeepSeek's cache reads (api-docs.deepseek.com, "Context Caching"): its prompt_tokens counts them too. */
const CACHE_HIT = 7;

// One backward pass for all eight keys (usage-scan.ts: each absent key used to cost a pass of its own).
const KEYS = new LastNumbers(
  ['"prompt_tokens"', '"completion_tokens"', '"input_tokens"', '"output_tokens"', '"cached_tokens"', '"cache_write_tokens"', '"cache_creation_input_tokens"', '"prompt_cache_hit_tokens"'].map((k) => Buffer.from(k)),
  Buffer.from('_tokens"'),
);

/**
 * [prompt, completion, cache read, cache write] tokens from the last usage in `buf` (at or after `from`), -1 where absent.
 * The prompt includes the cache reads and writes (OpenAI's prompt_tokens does).
 */
export function readUsage(buf: Buffer, from = 0): [number, number, number, number] {
  // Keys absent from this kind of answer (a chat answer has no input_tokens) would otherwise send the
  // scan back to offset 0: `from` (the last "usage") bounds it.
  const v = KEYS.scan(buf, from);
  const write = Math.max(v[CACHE_WRITE]!, v[CACHE_CREATION]!);
  const read = Math.max(v[CACHED]!, v[CACHE_HIT]!);
  if (v[PROMPT]! >= 0) return [v[PROMPT]!, v[COMPLETION]!, read, write];
  return [v[INPUT]!, v[OUTPUT]!, read, write];
}

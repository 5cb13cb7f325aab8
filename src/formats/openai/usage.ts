// Token counts from an OpenAI-format answer, for telemetry and cost. The `usage` object sits at the
// end of a JSON body, and in the last chunk of a stream with stream_options.include_usage
// (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage). A Responses API answer
// (relayed to a provider that has the API) says input_tokens / output_tokens, in its body and in the
// response.completed event (https://platform.openai.com/docs/api-reference/responses/object#usage).
import { numberAfter } from '../usage-scan.ts';

const PROMPT = Buffer.from('"prompt_tokens"');
const COMPLETION = Buffer.from('"completion_tokens"');
const INPUT = Buffer.from('"input_tokens"');
const OUTPUT = Buffer.from('"output_tokens"');

const CACHED = Buffer.from('"cached_tokens"');
/** openai-node 6.49's prompt_tokens_details.cache_write_tokens; LiteLLM's top-level cache_creation_input_tokens. */
const CACHE_WRITE = Buffer.from('"cache_write_tokens"');
const CACHE_CREATION = Buffer.from('"cache_creation_input_tokens"');

/**
 * [prompt, completion, cache read, cache write] tokens from the last usage in `buf`, -1 where absent.
 * The prompt includes the cache reads and writes (OpenAI's prompt_tokens does).
 */
export function readUsage(buf: Buffer): [number, number, number, number] {
  const prompt = numberAfter(buf, PROMPT);
  const write = Math.max(numberAfter(buf, CACHE_WRITE), numberAfter(buf, CACHE_CREATION));
  if (prompt >= 0) return [prompt, numberAfter(buf, COMPLETION), numberAfter(buf, CACHED), write];
  return [numberAfter(buf, INPUT), numberAfter(buf, OUTPUT), numberAfter(buf, CACHED), write];
}

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

/** [prompt, completion] tokens from the last usage in `buf`, -1 where absent. */
export function readUsage(buf: Buffer): [number, number] {
  const prompt = numberAfter(buf, PROMPT);
  if (prompt >= 0) return [prompt, numberAfter(buf, COMPLETION)];
  return [numberAfter(buf, INPUT), numberAfter(buf, OUTPUT)];
}

// Token counts from an OpenAI-format answer, for telemetry and cost. The `usage` object sits at the
// end of a JSON body, and in the last chunk of a stream with stream_options.include_usage
// (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage).
import { numberAfter } from '../usage-scan.ts';

const PROMPT = Buffer.from('"prompt_tokens"');
const COMPLETION = Buffer.from('"completion_tokens"');

/** [prompt, completion] tokens from the last usage in `buf`, -1 where absent. */
export function readUsage(buf: Buffer): [number, number] {
  return [numberAfter(buf, PROMPT), numberAfter(buf, COMPLETION)];
}

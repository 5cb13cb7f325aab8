// Token counts from an OpenAI-format answer, for telemetry and cost. The `usage` object sits at the
// end of a JSON body, and in the last chunk of a stream with stream_options.include_usage
// (https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage). We find it with
// native lastIndexOf instead of parsing bodies the gateway otherwise passes through untouched.

const PROMPT = Buffer.from('"prompt_tokens"');
const COMPLETION = Buffer.from('"completion_tokens"');

function numberAfter(buf: Buffer, key: Buffer): number {
  const at = buf.lastIndexOf(key);
  if (at < 0) return -1;
  let i = at + key.length;
  while (i < buf.length && (buf[i] === 0x20 || buf[i] === 0x3a)) i++; // spaces and ':'
  let n = 0;
  let digits = 0;
  for (; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) break;
    n = n * 10 + (c - 0x30);
    digits++;
  }
  return digits === 0 ? -1 : n;
}

/** [prompt, completion] tokens from the last usage in `buf`, -1 where absent. */
export function readUsage(buf: Buffer): [number, number] {
  return [numberAfter(buf, PROMPT), numberAfter(buf, COMPLETION)];
}

export const USAGE_MARK = Buffer.from('"usage":{');

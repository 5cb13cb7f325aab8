// Inputs of the translation micro-benchmarks (bench/micro.ts): an agent's turn as an OpenAI chat
// request (~2 KB: system prompt, three user/assistant exchanges with one tool call and its result, two
// tools with JSON Schemas), a ~4 KB Anthropic answer, and stream events as the providers write them.
// The other direction of each is derived with the gateway's own translators, so both directions carry
// the same content.
import { FORMATS } from '../../src/formats/index.ts';
import type { CanonicalRequest } from '../../src/formats/canonical.ts';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';

const AWS_FRAMES = new EventStreamCodec(toUtf8, fromUtf8);

const { openai: OA, anthropic: AN } = FORMATS;

const SYSTEM =
  'You are a senior site-reliability engineer helping a team run an LLM gateway in production. Answer precisely, ' +
  'quote figures with their units, and call a tool when the answer depends on live data. Prefer short paragraphs; ' +
  'use a list only for steps. When a metric is missing, say so instead of guessing.';

const PROSE = [
  'The gateway adds latency in three places: reading and parsing the request, choosing a target, and relaying the answer.',
  'Under open-loop load at 5,000 requests per second the p99 is dominated by garbage collection pauses, not by routing.',
  'A "pass-through" answer is relayed as the provider\'s bytes; a translated one is parsed, mapped and serialized again.',
  'Keep the connection pool warm:\nthe first request on a cold socket pays the TCP handshake and, over TLS, two more round trips.',
  'If the provider answers 429, the retry waits for retry-after and picks another key when one is healthy.',
];

function prose(bytes: number): string {
  let out = '';
  for (let i = 0; out.length < bytes; i++) out += (out === '' ? '' : ' ') + PROSE[i % PROSE.length];
  return out;
}

export interface TranslationInputs {
  /** Parsed, as the gateway holds it when it translates. */
  openaiRequest: Record<string, unknown>;
  openaiRequestBytes: number;
  anthropicRequest: Record<string, unknown>;
  anthropicRequestBytes: number;
  anthropicAnswer: Buffer;
  openaiAnswer: Buffer;
  /** The canonical form of the request, streaming, with usage asked for. */
  streamReq: CanonicalRequest;
  /** message_start, ping and the text block's start: pushed once, so the measured events are mid-stream. */
  anthropicStreamHead: string;
  anthropicDelta: string;
  /** The role chunk and a first content chunk: pushed once, so the Anthropic text block is already open. */
  openaiStreamHead: string;
  openaiDelta: string;
  /** The same ~4 KB answer as Gemini and Bedrock write it. */
  geminiAnswer: Buffer;
  bedrockAnswer: Buffer;
  /** One mid-stream Gemini chunk (SSE), and Bedrock's messageStart and one contentBlockDelta as binary event-stream frames. */
  geminiChunk: string;
  bedrockStreamHead: Buffer;
  bedrockDeltaFrame: Buffer;
}

export function translationInputs(): TranslationInputs {
  const openaiRequest: Record<string, unknown> = {
    model: 'bench-anthropic',
    messages: [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'Our p99 went from 4 ms to 19 ms after Tuesday\'s deploy. What changed on the eu-west gateway?' },
      {
        role: 'assistant',
        content: 'Let me look at the deploy log and the latency series for eu-west.',
        tool_calls: [{ id: 'call_7f3a91c2', type: 'function', function: { name: 'query_metrics', arguments: '{"metric":"gateway_request_seconds","quantile":0.99,"region":"eu-west","since":"72h"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_7f3a91c2', content: '{"series":[{"t":"Mon 12:00","v":0.0041},{"t":"Tue 12:00","v":0.0043},{"t":"Tue 15:00","v":0.0188},{"t":"Wed 12:00","v":0.0192}],"deploys":["Tue 14:52 v2.14.0"]}' },
      { role: 'assistant', content: 'The jump lines up with v2.14.0, deployed Tuesday at 14:52: p99 rose from 4.3 ms to 18.8 ms within the hour and stayed there.' },
      { role: 'user', content: 'What is in v2.14.0 that could do that? And can we roll back only eu-west without touching us-east?' },
    ],
    tools: [
      {
        type: 'function',
        function: {
          name: 'query_metrics',
          description: 'Reads a Prometheus metric for one region over a time window, optionally at a quantile.',
          parameters: {
            type: 'object',
            properties: {
              metric: { type: 'string', description: 'Metric name, e.g. gateway_request_seconds' },
              quantile: { type: 'number', minimum: 0, maximum: 1 },
              region: { type: 'string', enum: ['eu-west', 'us-east', 'ap-south'] },
              since: { type: 'string', description: 'Window length such as 1h, 24h or 7d' },
            },
            required: ['metric', 'region'],
          },
        },
      },
      {
        type: 'function',
        function: {
          name: 'rollback_release',
          description: 'Rolls one region back to an earlier release. Requires an approved change ticket.',
          parameters: {
            type: 'object',
            properties: { region: { type: 'string' }, release: { type: 'string' }, ticket: { type: 'string', pattern: '^CHG-[0-9]+$' }, dry_run: { type: 'boolean', default: true } },
            required: ['region', 'release', 'ticket'],
          },
        },
      },
    ],
    tool_choice: 'auto',
    max_tokens: 1024,
    temperature: 0.3,
  };
  const openaiRequestBytes = JSON.stringify(openaiRequest).length;
  const anthropicText = AN.codec.fromCanonical(OA.dialect.toCanonical(openaiRequest, 'chat'), 'claude-mock');
  const anthropicRequest = JSON.parse(anthropicText) as Record<string, unknown>;

  const anthropicAnswer = Buffer.from(
    JSON.stringify({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      content: [{ type: 'text', text: prose(3700) }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 812, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 960 },
    }),
  );
  const openaiAnswer = Buffer.from(OA.dialect.renderResponse(AN.codec.toCanonicalResponse(anthropicAnswer)));

  const streamReq = OA.dialect.toCanonical({ ...openaiRequest, stream: true, stream_options: { include_usage: true } }, 'chat');
  const ev = (name: string, data: string) => `event: ${name}\ndata: ${data}\n\n`;
  const anthropicStreamHead =
    ev('message_start', '{"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":812,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}') +
    ev('ping', '{"type":"ping"}') +
    ev('content_block_start', '{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}');
  const anthropicDelta = ev('content_block_delta', '{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" the p99 is dominated by"}}');
  const chunk = (delta: string) =>
    `data: {"id":"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG","object":"chat.completion.chunk","created":1741569952,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_eb9dce56a8","choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":null}]}\n\n`;
  const openaiStreamHead = chunk('{"role":"assistant","content":"","refusal":null}') + chunk('{"content":"Under open-loop load"}');
  const openaiDelta = chunk('{"content":" the p99 is dominated by"}');

  const text = prose(3700);
  const geminiAnswer = Buffer.from(
    JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: 812, candidatesTokenCount: 960, totalTokenCount: 1772, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 812 }] },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'mAitaKuLD8W1qtsP4Yq8gQ4',
    }),
  );
  const bedrockAnswer = Buffer.from(
    JSON.stringify({
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason: 'end_turn',
      usage: { inputTokens: 812, outputTokens: 960, totalTokens: 1772 },
      metrics: { latencyMs: 5123 },
    }),
  );
  const geminiChunk = `data: {"candidates":[{"content":{"parts":[{"text":" the p99 is dominated by"}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":812,"totalTokenCount":812},"modelVersion":"gemini-2.5-flash","responseId":"mAitaKuLD8W1qtsP4Yq8gQ4"}\r\n\r\n`;
  const bedrockStreamHead = frame('messageStart', '{"role":"assistant"}');
  // Bedrock pads each event with a "p" field of random length (against traffic analysis).
  const bedrockDeltaFrame = frame('contentBlockDelta', '{"contentBlockIndex":0,"delta":{"text":" the p99 is dominated by"},"p":"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"}');

  return {
    openaiRequest, openaiRequestBytes, anthropicRequest, anthropicRequestBytes: anthropicText.length, anthropicAnswer, openaiAnswer, streamReq, anthropicStreamHead, anthropicDelta, openaiStreamHead, openaiDelta,
    geminiAnswer, bedrockAnswer, geminiChunk, bedrockStreamHead, bedrockDeltaFrame,
  };
}

/** One event-stream message as AWS frames it, by AWS's own codec (@smithy/eventstream-codec). */
function frame(type: string, payload: string): Buffer {
  const str = (value: string) => ({ type: 'string' as const, value });
  return Buffer.from(AWS_FRAMES.encode({ headers: { ':message-type': str('event'), ':event-type': str(type), ':content-type': str('application/json') }, body: fromUtf8(payload) }));
}

// What the gateway reads from, and cuts out of, an OpenAI-format stream it relays without parsing:
// usage (for budgets and cost), the usage chunk it asked for on the client's behalf, and the
// provider's own error event. A read off the network holds any number of events, so each case has
// the events in one batch, as TCP may deliver them.
import { describe, expect, it } from 'vitest';
import { openaiCodec } from '../../src/formats/openai/index.ts';
import { anthropicCodec } from '../../src/formats/anthropic/index.ts';
import { usageFromOpenAI } from '../../src/formats/openai/response.ts';
import { OpenAIStreamDecoder } from '../../src/formats/openai/stream.ts';
import type { StreamEvent } from '../../src/formats/canonical.ts';

const chunk = (json: object): string => `data: ${JSON.stringify(json)}\n\n`;
const content = chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hi' }, finish_reason: null }] });
const usageChunk = chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } });
/** Azure's first chunk: empty choices, no usage (prompt filter results). */
const promptFilter = chunk({ id: '', object: '', choices: [], prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] });
const DONE = 'data: [DONE]\n\n';

const scan = (text: string) => {
  const into = { promptTokens: -1, completionTokens: -1, cacheReadTokens: -1, cacheWriteTokens: -1 };
  openaiCodec.scanUsage(Buffer.from(text), into);
  return into;
};

describe('usage of a relayed stream', () => {
  it("is read from the usage chunk when a later chunk in the same read says \"usage\":null (xAI's last chunk)", () => {
    const xaiLast = chunk({ id: 'c1', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null });
    expect(scan(usageChunk + xaiLast + DONE)).toMatchObject({ promptTokens: 11, completionTokens: 7 });
  });

  it('is read from spaced JSON', () => {
    expect(scan('data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}\n\n')).toMatchObject({ promptTokens: 5, completionTokens: 2 });
  });

  it("counts DeepSeek's prompt_cache_hit_tokens as cache reads, relayed and translated", () => {
    const deepseek = { prompt_tokens: 1000, completion_tokens: 10, prompt_cache_hit_tokens: 900, prompt_cache_miss_tokens: 100 };
    expect(scan(chunk({ choices: [], usage: deepseek }))).toMatchObject({ promptTokens: 1000, cacheReadTokens: 900 });
    expect(usageFromOpenAI(deepseek)).toMatchObject({ input: 100, cacheRead: 900, output: 10 });
  });

  it("is read from Groq's x_groq.usage when translating", () => {
    const out: StreamEvent[] = [];
    const d = new OpenAIStreamDecoder();
    d.decode('', JSON.stringify({ id: 'g', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop' }], x_groq: { usage: { prompt_tokens: 4, completion_tokens: 1 } } }), out);
    d.decode('', '[DONE]', out);
    expect(out.find((e) => e.type === 'usage')).toMatchObject({ usage: { input: 4, output: 1 } });
  });
});

describe('the usage chunk hidden from a client that did not ask for it', () => {
  const hide = (text: string) => openaiCodec.hideUsage!(Buffer.from(text)).toString();

  it("is cut when Azure's prompt-filter chunk (empty choices, no usage) came in the same read, which stays", () => {
    expect(hide(promptFilter + content + usageChunk + DONE)).toBe(promptFilter + content + DONE);
  });

  it('is cut from spaced JSON', () => {
    const spaced = 'data: {"id": "c1", "choices": [ ], "usage": {"prompt_tokens": 5, "completion_tokens": 2}}\n\n';
    expect(hide(content + spaced + DONE)).toBe(content + DONE);
  });

  it('a content chunk that carries usage stays whole, and a batch without usage is returned as it is', () => {
    const withUsage = chunk({ choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } });
    expect(hide(withUsage + DONE)).toBe(withUsage + DONE);
    expect(hide(promptFilter + content)).toBe(promptFilter + content);
  });
});

describe("the provider's own error event in a relayed stream", () => {
  const openRouter = chunk({ id: 'gen-1', object: 'chat.completion.chunk', provider: 'x', error: { code: 502, message: 'Upstream error' }, choices: [{ index: 0, delta: { content: '' }, finish_reason: 'error' }] });

  it("is found after the chunk's id (OpenRouter), first, or as Anthropic's event, followed by [DONE] or not", () => {
    expect(openaiCodec.inBandError!(content + openRouter + DONE)).toBe(true);
    expect(openaiCodec.inBandError!(chunk({ error: { message: 'overloaded', type: 'server_error' } }))).toBe(true);
    expect(openaiCodec.streamEnd(openRouter)).toBe('error');
    expect(anthropicCodec.inBandError!('event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n')).toBe(true);
  });

  it('is not read into text that mentions errors', () => {
    const talk = chunk({ choices: [{ index: 0, delta: { content: 'an "error": {"code": 1} in JSON' }, finish_reason: null }] });
    expect(openaiCodec.inBandError!(talk + DONE)).toBe(false);
    expect(anthropicCodec.inBandError!('event: content_block_delta\ndata: {"type":"content_block_delta","delta":{"type":"text_delta","text":"event: error"}}\n\n')).toBe(false);
  });
});

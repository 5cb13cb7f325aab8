// finish_reasons of the OpenAI-compatible family beyond OpenAI's own (providers.md §4.2): Mistral's
// model_length is a full context window; Mistral's error and DeepSeek's insufficient_system_resource
// say the generation failed. They reached Anthropic and Responses clients as a clean end_turn.
import { describe, expect, it } from 'vitest';
import { completionToCanonical } from '../../src/formats/openai/response.ts';
import { OpenAIStreamDecoder } from '../../src/formats/openai/stream.ts';
import type { StreamEvent } from '../../src/formats/canonical.ts';

const answer = (finish: string) => Buffer.from(JSON.stringify({ id: 'c', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'partial' }, finish_reason: finish }] }));

describe('an answer', () => {
  it("model_length: the context window is full", () => {
    expect(completionToCanonical(answer('model_length')).stopReason).toBe('model_context_window_exceeded');
  });

  it('error and insufficient_system_resource are failures of the provider: retried and failed over, not relayed', () => {
    expect(() => completionToCanonical(answer('error'))).toThrow(expect.objectContaining({ code: 'upstream_error' }));
    expect(() => completionToCanonical(answer('insufficient_system_resource'))).toThrow(expect.objectContaining({ code: 'upstream_overloaded', upstreamStatus: 529 }));
  });
});

describe('a stream', () => {
  it('ending with finish_reason error ends with an error event, not a finish', () => {
    const out: StreamEvent[] = [];
    const d = new OpenAIStreamDecoder();
    d.decode('', JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: 'part' }, finish_reason: null }] }), out);
    d.decode('', JSON.stringify({ id: 'c', choices: [{ index: 0, delta: {}, finish_reason: 'insufficient_system_resource' }] }), out);
    d.decode('', '[DONE]', out);
    expect(out.map((e) => e.type)).toEqual(['start', 'text', 'error']);
    expect(out[2]).toMatchObject({ errorType: 'overloaded_error' });
  });
});

// Reading a provider's token count (formats/token-count.ts): a count, or no answer at all.
import { describe, expect, it } from 'vitest';
import { tokenCountField } from '../../src/formats/token-count.ts';

const read = (body: unknown, field: string, format: string) => () => tokenCountField(Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), field, format);

describe('tokenCountField', () => {
  it('reads the count', () => {
    expect(read({ input_tokens: 12 }, 'input_tokens', 'anthropic')()).toBe(12);
    expect(read({ totalTokens: 7, promptTokensDetails: [] }, 'totalTokens', 'gemini')()).toBe(7);
  });

  it("Gemini's zero, left out by proto3 JSON, is 0; only when nothing else is there", () => {
    expect(read({}, 'totalTokens', 'gemini')()).toBe(0);
    expect(read({ promptTokensDetails: [{ modality: 'TEXT' }] }, 'totalTokens', 'gemini')()).toBe(0);
    // An error body, or another proxy's spelling, is no count: never a silent 0.
    expect(read({ error: { code: 400 } }, 'totalTokens', 'gemini')).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
    expect(read({ total_tokens: 57 }, 'totalTokens', 'gemini')).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
  });

  it('anything else is upstream_bad_response: no count, a negative or fractional one, not JSON', () => {
    for (const body of [{}, { inputTokens: -1 }, { inputTokens: 1.5 }, { inputTokens: '3' }, 'not json', '[1]']) {
      expect(read(body, 'inputTokens', 'bedrock')).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
    }
  });
});

// The classifier reads every dialect's request as the same conversation (request/context.ts
// classifierInput): a Responses request's input, a Messages request's system and tool results. A rule
// on complexity_tier routes a question alike whichever SDK asked it.
import { afterAll, describe, expect, it } from 'vitest';
import { openaiDialect } from '../../src/formats/openai/index.ts';
import { anthropicDialect } from '../../src/formats/anthropic/index.ts';
import { responsesDialect } from '../../src/formats/responses/index.ts';
import { validateConfig } from '../../src/config/load.ts';
import { compilePlan } from '../../src/config/compile.ts';
import { RequestContext } from '../../src/request/context.ts';
import type { RequestSink } from '../../src/request/context.ts';

const plan = compilePlan(validateConfig({ version: 1, providers: { p: { baseUrl: 'http://127.0.0.1:1/v1', keys: [{ name: 'k', value: 'sk-0123456789abcdef' }] } } }, {}));
afterAll(() => plan.close());
const sink = {} as RequestSink;

function tierOf(endpoint: 'chat' | 'responses' | 'completions', dialect: typeof openaiDialect, body: Record<string, unknown>): { tier: string; input: unknown } {
  const ctx = new RequestContext(plan, null as never, sink, endpoint, dialect as never, 'id', {}, 0);
  ctx.body = body;
  return { tier: ctx.classification().tier, input: ctx.classifierInput() };
}

const PROOF = 'Prove by induction that the sum of the first n odd numbers is n squared, step by step.';

describe('classifierInput', () => {
  it('a Responses request is read from its input and instructions, as the same chat would be', () => {
    const chat = tierOf('chat', openaiDialect, { messages: [{ role: 'user', content: PROOF }] }).tier;
    expect(chat).toBe('REASONING');
    expect(tierOf('responses', responsesDialect as never, { input: PROOF }).tier).toBe(chat);
    const items = tierOf('responses', responsesDialect as never, { instructions: 'Be rigorous.', input: [{ role: 'user', content: [{ type: 'input_text', text: PROOF }] }] });
    expect(items.tier).toBe(chat);
    expect(items.input).toEqual([{ role: 'system', content: 'Be rigorous.' }, { role: 'user', content: [{ type: 'text', text: PROOF }] }]);
  });

  it("a Messages request's last turn of tool results leaves the question to the user turn before it, as in OpenAI's shape", () => {
    const openai = tierOf('chat', openaiDialect, {
      messages: [
        { role: 'user', content: PROOF },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'calc', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '42' },
      ],
    }).tier;
    const anthropic = tierOf('chat', anthropicDialect as never, {
      system: 'You are a maths tutor.',
      messages: [
        { role: 'user', content: PROOF },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'calc', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: '42' }] },
      ],
    });
    expect(anthropic.tier).toBe(openai);
    expect(anthropic.tier).not.toBe('SIMPLE');
    expect((anthropic.input as Array<{ role: string }>).map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
  });

  it('a completion prompt given as an array of strings is read', () => {
    expect(tierOf('completions', openaiDialect, { prompt: [PROOF] }).tier).toBe('REASONING');
  });
});

// Bedrock end to end: the OpenAI SDK and the Anthropic SDK reaching a Bedrock provider through microgate.
// The mock verifies every SigV4 signature with the AWS SDK's own signer over the bytes it received (a wrong
// secret, an edited body or a model id encoded once instead of twice is a 403), validates Converse bodies
// (empty text blocks, image formats, toolConfig with tool blocks) and streams AWS's binary event stream; it
// is checked against @aws-sdk/client-bedrock-runtime in test/unit/mock-bedrock.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
let claude: Anthropic;
const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const SECRET_KEY = 'bedrock-secret-0123456789abcdef';

beforeAll(async () => {
  s = await startStack(
    {
      aws: {
        awsCredentials: { AKIDGOOD: SECRET_KEY, AKIDTHROTTLED: SECRET_KEY, AKIDSESSION: SECRET_KEY },
        validKeys: ['bedrock-api-key-1'],
        keys: { AKIDTHROTTLED: { status: 429 } },
      },
      gpt: {},
    },
    (m) => ({
      version: 1,
      providers: {
        br: { type: 'bedrock', baseUrl: m.aws!.url, region: 'us-east-1', keys: [{ name: 'iam', accessKeyId: 'AKIDGOOD', secretAccessKey: SECRET_KEY }], models: [MODEL], forwardHeaders: ['x-mock-*'] },
        brsession: { type: 'bedrock', baseUrl: m.aws!.url, keys: [{ name: 'sts', accessKeyId: 'AKIDSESSION', secretAccessKey: SECRET_KEY, sessionToken: 'session-token-abcdef' }] },
        brbearer: { type: 'bedrock', baseUrl: m.aws!.url, keys: [{ name: 'api', value: 'bedrock-api-key-1' }] },
        brwrong: { type: 'bedrock', baseUrl: m.aws!.url, keys: [{ name: 'wrong', accessKeyId: 'AKIDGOOD', secretAccessKey: 'not-the-secret-0123456789' }] },
        brthrottled: { type: 'bedrock', baseUrl: m.aws!.url, keys: [{ name: 'throttled', accessKeyId: 'AKIDTHROTTLED', secretAccessKey: SECRET_KEY }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
        brrotate: { type: 'bedrock', baseUrl: m.aws!.url, keys: [{ name: 'throttled', accessKeyId: 'AKIDTHROTTLED', secretAccessKey: SECRET_KEY, weight: 100 }, { name: 'good', accessKeyId: 'AKIDGOOD', secretAccessKey: SECRET_KEY, weight: 1 }] },
        gpt: { baseUrl: m.gpt!.baseUrl, keys: [{ name: 'k', value: 'openai-key-1' }] },
      },
      models: { 'bedrock-then-gpt': { targets: [{ provider: 'brthrottled', model: MODEL }], fallbacks: ['gpt/mock-small'] } },
    }),
  );
  claude = new Anthropic({ baseURL: s.gw.url, apiKey: 'client-key-not-forwarded', maxRetries: 0 });
});
afterAll(() => s.close());

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('the OpenAI SDK reaches Bedrock', () => {
  it('chat, signed with SigV4: a model id with ":" encoded once in the path and twice in the signature', async () => {
    const r = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 50, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hello' }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage!.prompt_tokens).toBeGreaterThan(0);
    const st = s.mocks.aws!.stats();
    expect(st.lastHeaders!.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDGOOD\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
    expect(Object.keys(st.byPath)).toContain(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(st.byStatus['403']).toBeUndefined();
  });

  it('stream: the binary event stream becomes chunks, usage (after messageStop) when asked, then [DONE]', async () => {
    const stream = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 40, stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hello' }] });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toMatch(/\S/);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason === 'stop')).toHaveLength(1);
    expect(chunks[chunks.length - 1]!.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it('tools: toolUse → tool_calls, and the results go back as toolResult blocks Bedrock accepts', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'use the tool for Paris' }];
    const r = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 200, tools: [weatherTool], messages });
    expect(r.choices[0]!.finish_reason).toBe('tool_calls');
    const msg = r.choices[0]!.message;
    const call = msg.tool_calls![0]! as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(JSON.parse(call.function.arguments)).toEqual({ city: 'x' });
    const next = await s.client.chat.completions.create({
      model: `br/${MODEL}`,
      max_tokens: 200,
      tools: [weatherTool],
      tool_choice: 'none',
      messages: [...messages, msg, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    expect(next.choices[0]!.finish_reason).toBe('stop');
  });

  it('a history with tool calls but no tools offered is accepted (sent as text), where Bedrock refuses tool blocks without toolConfig', async () => {
    const call = { id: 'call_1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } };
    const r = await s.client.chat.completions.create({
      model: `br/${MODEL}`,
      max_tokens: 200,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [call] },
        { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
        { role: 'user', content: 'Now just summarise.' },
      ],
    });
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.choices[0]!.message.tool_calls ?? []).toEqual([]);
  });

  it('streamed tool calls arrive whole, with a tool_calls finish', async () => {
    const stream = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 200, stream: true, tools: [weatherTool], messages: [{ role: 'user', content: 'use the tool' }] });
    let args = '';
    let finish: string | null = null;
    for await (const c of stream) {
      for (const t of c.choices[0]?.delta.tool_calls ?? []) args += t.function?.arguments ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(JSON.parse(args)).toEqual({ city: 'x' });
    expect(finish).toBe('tool_calls');
  });

  it('thinking: reasoning_effort → additionalModelRequestFields.thinking; reasoning comes back signed', async () => {
    const r = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 3000, reasoning_effort: 'low', messages: [{ role: 'user', content: 'hello' }] });
    const msg = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning_content?: string; thinking_blocks?: Array<{ signature: string }> };
    expect(msg.reasoning_content).toMatch(/\S/);
    expect(msg.thinking_blocks![0]!.signature).toMatch(/\S/);
    // A cap too small for Claude's smallest budget (1024) is kept, without thinking, and says so.
    const small = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 100, reasoning_effort: 'low', messages: [{ role: 'user', content: 'hello' }] }).withResponse();
    expect((small.data.choices[0]!.message as { reasoning_content?: string }).reasoning_content).toBeUndefined();
    expect(small.response.headers.get('x-microgate-dropped')).toContain('reasoning_effort');
  });

  it("a guardrail is a content_filter finish; a stop sequence is 'stop'; a short max_tokens 'length'", async () => {
    const g = await s.client.chat.completions.create({ model: `br/${MODEL}`, messages: [{ role: 'user', content: 'guardrail' }] });
    expect(g.choices[0]!.finish_reason).toBe('content_filter');
    const st = await s.client.chat.completions.create({ model: `br/${MODEL}`, stop: ['END'], messages: [{ role: 'user', content: 'stop here' }] });
    expect(st.choices[0]!.finish_reason).toBe('stop');
    const short = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 2, messages: [{ role: 'user', content: 'hello' }] });
    expect(short.choices[0]!.finish_reason).toBe('length');
  });

  it('a session token is sent and signed; a Bedrock API key goes as a bearer token', async () => {
    await s.client.chat.completions.create({ model: `brsession/${MODEL}`, messages: [{ role: 'user', content: 'hi' }] });
    const h = s.mocks.aws!.stats().lastHeaders!;
    expect(h['x-amz-security-token']).toBe('session-token-abcdef');
    expect(h.authorization).toMatch(/SignedHeaders=[^,]*x-amz-security-token/);
    const r = await s.client.chat.completions.create({ model: `brbearer/${MODEL}`, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    expect(s.mocks.aws!.stats().lastHeaders!.authorization).toBe('Bearer bedrock-api-key-1');
  });

  it('a wrong secret is a signature AWS refuses: an auth failure that names the key, never the secret', async () => {
    const err = await s.client.chat.completions.create({ model: `brwrong/${MODEL}`, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('upstream_auth_failed');
    expect((err as Error).message).toContain("'wrong'");
    expect(JSON.stringify(err)).not.toContain('not-the-secret');
  });

  it("ThrottlingException (read from x-amzn-errortype) is a RateLimitError with OpenAI's code, and rotates to the next key", async () => {
    const err = await s.client.chat.completions.create({ model: `brthrottled/${MODEL}`, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('rate_limit_exceeded');
    const before = s.mocks.aws!.stats().byKey.AKIDGOOD ?? 0;
    const r = await s.client.chat.completions.create({ model: `brrotate/${MODEL}`, messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    expect(s.mocks.aws!.stats().byKey.AKIDGOOD).toBe(before + 1);
  });

  it('an exception frame mid-stream ends the OpenAI stream with an error, not [DONE]', async () => {
    const stream = await s.client.chat.completions.create({ model: `br/${MODEL}`, max_tokens: 40, stream: true, messages: [{ role: 'user', content: 'hello' }] }, { headers: { 'x-mock-stream-error-after': '1', 'x-mock-stream-error': 'throttlingException' } });
    let text = '';
    const err = await (async () => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    })().catch((e: unknown) => e);
    expect(text).toMatch(/\S/);
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });

  it("what Converse cannot take is refused before sending: response_format, an image URL", async () => {
    const before = s.mocks.aws!.stats().requests;
    const rf = await s.client.chat.completions.create({ model: `br/${MODEL}`, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } }, messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(rf).toBeInstanceOf(OpenAI.BadRequestError);
    expect((rf as InstanceType<typeof OpenAI.APIError>).param).toBe('response_format');
    const img = await s.client.chat.completions
      .create({ model: `br/${MODEL}`, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] })
      .catch((e: unknown) => e);
    expect(img).toBeInstanceOf(OpenAI.BadRequestError);
    expect(s.mocks.aws!.stats().requests).toBe(before);
  });
});

describe('the Anthropic SDK reaches Bedrock', () => {
  it('create and stream, with tool_use and thinking blocks', async () => {
    const m = await claude.messages.create({ model: `br/${MODEL}`, max_tokens: 40, messages: [{ role: 'user', content: 'hello' }] });
    expect(m.content[0]!.type).toBe('text');
    expect(m.stop_reason).toBe('end_turn');
    const tools: Anthropic.Tool[] = [{ name: 'lookup', input_schema: { type: 'object', properties: {} } }];
    const streamed = await claude.messages.stream({ model: `br/${MODEL}`, max_tokens: 3000, thinking: { type: 'enabled', budget_tokens: 1024 }, tools, messages: [{ role: 'user', content: 'use the tool' }] }).finalMessage();
    expect(streamed.content.map((b) => b.type)).toEqual(['thinking', 'text', 'tool_use']);
    expect((streamed.content[0] as Anthropic.ThinkingBlock).signature).toMatch(/\S/);
    expect((streamed.content[2] as Anthropic.ToolUseBlock).input).toEqual({});
    expect(streamed.stop_reason).toBe('tool_use');
  });

  it('a throttled Bedrock falls over to an OpenAI provider, for either client', async () => {
    const r = await s.client.chat.completions.create({ model: 'bedrock-then-gpt', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.choices[0]!.message.content).toMatch(/\S/);
    const m = await claude.messages.create({ model: 'bedrock-then-gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] });
    expect(m.stop_reason).toBe('end_turn');
  });
});

describe('GET /v1/models', () => {
  it('lists the models of every format: Bedrock ids by provider and bare, aliases, OpenAI ones', async () => {
    const ids: string[] = [];
    for await (const m of s.client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining([`br/${MODEL}`, MODEL, 'bedrock-then-gpt']));
  });
});

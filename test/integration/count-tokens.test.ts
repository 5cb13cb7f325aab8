// POST /v1/messages/count_tokens with Anthropic's SDK (messages.countTokens): relayed to Anthropic's
// providers, asked of Gemini (:countTokens) and Bedrock (/count-tokens) in their own formats, routed and
// failed over like a message, held to a virtual key's models, and never charged as tokens. Each mock
// counts as its generate answer reports usage, so a count must equal the input tokens of the same
// request sent as a message: a translation that loses the system prompt or a turn changes it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Anthropic from '@anthropic-ai/sdk';
import { request } from 'undici';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
let claude: Anthropic;
const BEDROCK_CLAUDE = 'anthropic.claude-3-5-haiku-20241022-v1:0';
const AWS_SECRET = 'bedrock-secret-0123456789abcdef';
const VK = { open: 'vk-open-0123456789abcdef', scoped: 'vk-scoped-0123456789abcdef', tight: 'vk-tight-0123456789abcdef' };

const system = 'You are a terse assistant who answers in one line.';
const messages: Anthropic.MessageParam[] = [
  { role: 'user', content: 'What is the capital of France?' },
  { role: 'assistant', content: 'Paris.' },
  { role: 'user', content: [{ type: 'text', text: 'And of Italy? Answer with the city and the river it stands on, please.' }] },
];

beforeAll(async () => {
  s = await startStack(
    {
      main: { keys: { 'anthropic-key-429': { status: 429 } } },
      g: { models: ['gemini-test'] },
      aws: { awsCredentials: { AKIDGOOD: AWS_SECRET } },
    },
    (m) => ({
      version: 1,
      providers: {
        claude: { type: 'anthropic', baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-1' }], models: ['claude-test'], pricing: { 'claude-test': { input: 3, output: 15 } } },
        claudelimited: { type: 'anthropic', baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'anthropic-key-429' }], retry: { maxRetries: 0, baseMs: 1, capMs: 2 } },
        gem: { type: 'gemini', baseUrl: `${new URL(m.g!.baseUrl).origin}/v1beta`, keys: [{ name: 'k', value: 'gemini-key-1' }], models: ['gemini-test'] },
        br: { type: 'bedrock', baseUrl: m.aws!.url, region: 'us-east-1', keys: [{ name: 'iam', accessKeyId: 'AKIDGOOD', secretAccessKey: AWS_SECRET }], models: [BEDROCK_CLAUDE, 'amazon.nova-lite-v1:0'] },
        gpt: { baseUrl: m.main!.baseUrl, keys: [{ name: 'k', value: 'openai-key-1' }], models: ['gpt-test'] },
      },
      models: {
        'limited-then-gemini': { targets: [{ provider: 'claudelimited', model: 'claude-test' }], fallbacks: ['gem/gemini-test'] },
        'nova-then-claude': { targets: [{ provider: 'br', model: 'amazon.nova-lite-v1:0' }], fallbacks: ['claude/claude-test'] },
      },
      governance: {
        adminKey: 'admin-key-0123456789abcdef-0123',
        db: join(mkdtempSync(join(tmpdir(), 'mg-count-db-')), 'gov.db'),
        virtualKeys: [
          { id: 'open', value: VK.open },
          { id: 'scoped', value: VK.scoped, models: ['claude/claude-test'] },
          { id: 'tight', value: VK.tight, limits: { tokensPerMinute: 40 } },
        ],
      },
    }),
  );
  claude = new Anthropic({ baseURL: s.gw.url, apiKey: VK.open, maxRetries: 0 });
});
afterAll(() => s.close());

const as = (key: string) => new Anthropic({ baseURL: s.gw.url, apiKey: key, maxRetries: 0 });
const caught = <T>(p: Promise<T>) => p.then(() => null, (e: unknown) => e as InstanceType<typeof Anthropic.APIError>);

/** The input tokens the same request uses when it is sent as a message. */
async function usedBy(model: string): Promise<number> {
  const m = await claude.messages.create({ model, max_tokens: 32, system, messages });
  return m.usage.input_tokens;
}

describe('each provider counts in its own format', () => {
  it.each([
    ['an Anthropic provider (relayed)', 'claude/claude-test', 'main'],
    ['a Gemini provider (:countTokens with the whole generate request)', 'gem/gemini-test', 'g'],
    ['a Bedrock provider (/count-tokens around the Converse request)', `br/${BEDROCK_CLAUDE}`, 'aws'],
  ])('%s: the count is what the same message uses', async (_name, model, mock) => {
    const before = s.mocks[mock]!.stats().byPath;
    const counted = await claude.messages.countTokens({ model, system, messages });
    expect(counted.input_tokens).toBeGreaterThan(10);
    expect(counted.input_tokens).toBe(await usedBy(model));
    // The provider was asked: the gateway does not estimate.
    const after = s.mocks[mock]!.stats().byPath;
    const countPaths = Object.keys(after).filter((p) => /count_tokens|countTokens|count-tokens/.test(p));
    expect(countPaths.some((p) => (after[p] ?? 0) > (before[p] ?? 0))).toBe(true);
  });

  it('a system prompt counts: dropping it in translation would change the count', async () => {
    for (const model of ['claude/claude-test', 'gem/gemini-test', `br/${BEDROCK_CLAUDE}`]) {
      const bare = await claude.messages.countTokens({ model, messages });
      const withSystem = await claude.messages.countTokens({ model, system, messages });
      expect(withSystem.input_tokens, model).toBeGreaterThan(bare.input_tokens);
    }
  });

  it("fields a message takes and counting does not (max_tokens, stream, temperature) are left out, and said so, instead of Anthropic's 400", async () => {
    const res = await request(`${s.gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': VK.open, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude/claude-test', max_tokens: 1024, stream: true, temperature: 0.2, system, messages }),
    });
    const body = (await res.body.json()) as { input_tokens: number };
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/application\/json/);
    expect(body.input_tokens).toBe(await usedBy('claude/claude-test'));
    expect(String(res.headers['x-microgate-dropped']).split(',').sort()).toEqual(['max_tokens', 'stream', 'temperature']);
  });

  it("a count costs nothing: its input_tokens are not read as a prompt's usage", async () => {
    const res = await request(`${s.gw.url}/v1/messages/count_tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': VK.open, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude/claude-test', system, messages }),
    });
    expect(((await res.body.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(10);
    expect(res.headers['x-microgate-cost-usd']).toBe('0.000000');
  });
});

describe('routing, failover and errors, as for a message', () => {
  it('a rate-limited first target falls over to the next, across formats', async () => {
    const counted = await claude.messages.countTokens({ model: 'limited-then-gemini', system, messages });
    expect(counted.input_tokens).toBe(await usedBy('gem/gemini-test'));
  });

  it("a model whose providers cannot count (OpenAI's format has no such request) is a 404 in Anthropic's shape", async () => {
    const err = await caught(claude.messages.countTokens({ model: 'gpt/gpt-test', messages }));
    expect(err).toBeInstanceOf(Anthropic.NotFoundError);
    expect(err!.error).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(err!.message).toMatch(/cannot serve count_tokens requests/);
  });

  it('a request with no model sent by x-microgate-provider to a provider that cannot serve it is a 400 naming the header', async () => {
    const form = new FormData();
    form.set('purpose', 'batch');
    form.set('file', new Blob(['{}\n']), 'batch.jsonl');
    const res = await fetch(`${s.gw.url}/v1/files`, { method: 'POST', headers: { 'x-microgate-provider': 'claude', authorization: `Bearer ${VK.open}` }, body: form });
    const body = (await res.json()) as { error: { code: string; param: string; message: string } };
    expect(res.status, JSON.stringify(body)).toBe(400);
    expect(body.error).toMatchObject({ code: 'invalid_parameter', param: 'x-microgate-provider' });
    expect(body.error.message).toBe("Provider 'claude' (anthropic) cannot serve files requests (x-microgate-provider).");
  });

  it("a 429 on a count moves the count to the next target without resting the key: messages are rate-limited apart (Anthropic's docs)", async () => {
    await claude.messages.countTokens({ model: 'limited-then-gemini', messages });
    const res = await request(`${s.gw.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': VK.open, 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'limited-then-gemini', max_tokens: 16, messages }),
    });
    await res.body.text();
    // The message still tries the key the count found limited (a rest would read "claudelimited/claude-test:resting").
    expect(String(res.headers['x-microgate-route'])).toMatch(/^claudelimited\/claude-test#k:429/);
  });

  it('Bedrock counts an inference profile by its foundation model, which is what CountTokens takes', async () => {
    const model = 'us.anthropic.claude-sonnet-4-5-20250929-v1:0';
    const counted = await claude.messages.countTokens({ model: `br/${model}`, system, messages });
    expect(counted.input_tokens).toBe(await usedBy(`br/${model}`));
    expect(s.mocks.aws!.stats().byPath).toHaveProperty([`/model/${encodeURIComponent('anthropic.claude-sonnet-4-5-20250929-v1:0')}/count-tokens`]);
  });

  it("a target that cannot count (Bedrock, for a model not Anthropic's) passes the count to the next", async () => {
    const counted = await claude.messages.countTokens({ model: 'nova-then-claude', system, messages });
    expect(counted.input_tokens).toBe(await usedBy('claude/claude-test'));
  });

  it("Bedrock's refusal to count for a model it cannot (not Anthropic's) reaches the client as a 400", async () => {
    const err = await caught(claude.messages.countTokens({ model: 'br/amazon.nova-lite-v1:0', messages }));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err!.message).toMatch(/doesn't support counting tokens/);
  });

  it('a request without messages is refused before any provider is asked', async () => {
    const before = s.mocks.main!.stats().requests;
    const err = await caught(claude.messages.countTokens({ model: 'claude/claude-test' } as Anthropic.MessageCountTokensParams));
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect(err!.message).toMatch(/messages/);
    expect(s.mocks.main!.stats().requests).toBe(before);
  });

  it('GET is a 405 that names POST', async () => {
    const res = await request(`${s.gw.url}/v1/messages/count_tokens`, { headers: { 'x-api-key': VK.open } });
    expect(res.statusCode).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(((await res.body.json()) as { type: string }).type).toBe('error');
  });
});

describe('governance', () => {
  it("a key held to some models may count only for those (403 permission_error); no key is a 401", async () => {
    expect((await as(VK.scoped).messages.countTokens({ model: 'claude/claude-test', messages })).input_tokens).toBeGreaterThan(0);
    const other = await caught(as(VK.scoped).messages.countTokens({ model: 'gem/gemini-test', messages }));
    expect(other).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const none = await caught(as('not-a-key').messages.countTokens({ model: 'claude/claude-test', messages }));
    expect(none).toBeInstanceOf(Anthropic.AuthenticationError);
  });

  it('counting uses no tokens: a key whose token limit refuses the message may still count it, as often as it likes', async () => {
    const long: Anthropic.MessageParam[] = [{ role: 'user', content: 'Summarise the following notes in one line. '.repeat(8) }];
    for (let i = 0; i < 5; i++) {
      const counted = await as(VK.tight).messages.countTokens({ model: 'claude/claude-test', messages: long });
      expect(counted.input_tokens).toBeGreaterThan(40);
    }
    // The same content as a message needs more than the key's 40 tokens a minute.
    const err = await caught(as(VK.tight).messages.create({ model: 'claude/claude-test', max_tokens: 16, messages: long }));
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
  });
});

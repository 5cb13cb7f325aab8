// Continuing a stored response through the gateway (`previous_response_id`, native Responses API):
// the next turn goes to the key whose project stores the response, and only the virtual key it was
// made for may continue it (pipeline/continuation.ts, formats/responses/ids.ts). The provider here is
// a small stand-in for OpenAI that stores responses per API key, as projects do, and answers an id
// it does not store with OpenAI's 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { validateConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';

const stored = new Map<string, Set<string>>(); // API key → response ids it stores
const seen: Array<{ key: string; previous: unknown }> = [];
let lastMade = ''; // the provider's id of the last response it made
let upstream: Server;
let gw: Gateway;

function response(id: string, previous: unknown, status: string): Record<string, unknown> {
  return { id, object: 'response', created_at: 1, status, model: 'gpt-4o', previous_response_id: previous ?? null, output: status === 'completed' ? [{ type: 'message', id: `msg_${id.slice(5)}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'ok', annotations: [] }] }] : [], usage: status === 'completed' ? { input_tokens: 3, output_tokens: 1, total_tokens: 4 } : null };
}

beforeAll(async () => {
  upstream = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const body = JSON.parse(raw) as { previous_response_id?: string; stream?: boolean };
      const key = String(req.headers.authorization).replace('Bearer ', '');
      seen.push({ key, previous: body.previous_response_id });
      const mine = stored.get(key) ?? new Set<string>();
      stored.set(key, mine);
      if (body.previous_response_id !== undefined && !mine.has(body.previous_response_id)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `Previous response with id '${body.previous_response_id}' not found.`, type: 'invalid_request_error', param: 'previous_response_id', code: 'previous_response_not_found' } }));
        return;
      }
      const id = `resp_${randomBytes(24).toString('hex')}`;
      mine.add(id);
      lastMade = id;
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const event = (type: string, data: Record<string, unknown>) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
        event('response.created', { sequence_number: 0, response: response(id, body.previous_response_id, 'in_progress') });
        event('response.output_text.delta', { sequence_number: 1, item_id: `msg_${id.slice(5)}`, output_index: 0, content_index: 0, delta: 'ok' });
        event('response.completed', { sequence_number: 2, response: response(id, body.previous_response_id, 'completed') });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(response(id, body.previous_response_id, 'completed')));
    });
  });
  await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
  const base = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`;
  gw = await startGateway(
    validateConfig(
      {
        version: 1,
        providers: {
          // Two keys of two projects, balanced evenly: a continuation sent to the other one is a 404.
          oa: { baseUrl: base, keys: [{ name: 'k1', value: 'sk-project-one-0123456789' }, { name: 'k2', value: 'sk-project-two-0123456789' }], retry: { maxRetries: 0 } },
          ob: { baseUrl: base, keys: [{ name: 'k', value: 'sk-other-provider-0123456789' }] },
        },
        models: { gpt: { targets: [{ provider: 'oa', model: 'gpt-4o' }] }, elsewhere: { targets: [{ provider: 'ob', model: 'gpt-4o' }] } },
        governance: { virtualKeys: [{ id: 'alice', value: 'vk-alice-0123456789' }, { id: 'bob', value: 'vk-bob-0123456789' }] },
      },
      {},
    ),
    { host: '127.0.0.1', port: 0 },
  );
});
afterAll(async () => {
  await gw.close();
  await new Promise((done) => upstream.close(done));
});

const client = (key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });

describe('previous_response_id through the gateway', () => {
  it('each turn goes to the key that stores the one before, and the provider sees only its own ids', async () => {
    const alice = client('vk-alice-0123456789');
    let r = await alice.responses.create({ model: 'gpt', input: 'turn 1' });
    expect(r.id).toMatch(/^resp_mg/);
    const first = seen.at(-1)!.key;
    for (let turn = 2; turn <= 9; turn++) {
      const before = r.id;
      const at = seen.length;
      r = await alice.responses.create({ model: 'gpt', input: `turn ${turn}`, previous_response_id: before });
      expect(r.status).toBe('completed');
      // The answer echoes the id as the client sent it; the provider got its own.
      expect(r.previous_response_id).toBe(before);
      expect(seen[at]!.key).toBe(first);
      expect(String(seen[at]!.previous)).toMatch(/^resp_[0-9a-f]{48}$/);
    }
  });

  it('a stream carries one sealed id from response.created to response.completed, and it continues', async () => {
    const alice = client('vk-alice-0123456789');
    const ids = new Set<string>();
    const stream = await alice.responses.create({ model: 'gpt', input: 'hello', stream: true });
    for await (const e of stream) if (e.type === 'response.created' || e.type === 'response.completed') ids.add(e.response.id);
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    expect(id).toMatch(/^resp_mg/);
    const next = await alice.responses.create({ model: 'gpt', input: 'and then?', previous_response_id: id! });
    expect(next.status).toBe('completed');
  });

  it("another tenant's id, or an altered one, is not found, and nothing goes upstream", async () => {
    const r = await client('vk-alice-0123456789').responses.create({ model: 'gpt', input: 'private' });
    const at = seen.length;
    const bob = client('vk-bob-0123456789');
    for (const id of [r.id, `${r.id.slice(0, -3)}AAA`, `resp_mg${'x'.repeat(40)}`]) {
      const err = (await bob.responses.create({ model: 'gpt', input: 'let me read it', previous_response_id: id }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
      expect(err.status).toBe(404);
      expect((err.error as { param?: string }).param).toBe('previous_response_id');
    }
    expect(seen.length).toBe(at);
    // An id that is not a string is the client's 400 naming the field, not "id '[object Object]' not found".
    const typed = (await bob.responses.create({ model: 'gpt', input: 'x', previous_response_id: {} as unknown as string }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(typed.status).toBe(400);
    expect((typed.error as { param?: string; code?: string }).code).toBe('invalid_parameter');
    expect(typed.message).toContain("'previous_response_id' must be a string");
    expect(seen.length).toBe(at);
  });

  it("with virtual keys, a provider's own id is not found either: nothing binds it to the tenant", async () => {
    await client('vk-alice-0123456789').responses.create({ model: 'gpt', input: 'new conversation' });
    const raw = lastMade;
    const at = seen.length;
    const err = (await client('vk-bob-0123456789')
      .responses.create({ model: 'oa/gpt-4o', input: 'let me read it', previous_response_id: raw })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(404);
    expect(seen.length).toBe(at);
  });

  it("with virtual keys, a stored conversation (the provider account's, every tenant's) is refused before anything is sent", async () => {
    const at = seen.length;
    const err = (await client('vk-bob-0123456789')
      .responses.create({ model: 'gpt', input: 'and then?', conversation: 'conv_0123456789abcdef' })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.param).toBe('conversation');
    expect(err.message).toMatch(/every virtual key shares/);
    // So is an input item that names a stored item of the account (any tenant's message or call).
    const ref = (await client('vk-bob-0123456789')
      .responses.create({ model: 'gpt', input: [{ type: 'item_reference', id: 'msg_0123456789abcdef' }] })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(ref).toBeInstanceOf(OpenAI.BadRequestError);
    expect(ref.param).toBe('input[0]');
    expect(ref.message).toMatch(/item_reference .*every virtual key shares/);
    expect(seen.length).toBe(at);
  });

  it("with virtual keys, the account's vector stores and named containers are refused too; a fresh container passes", async () => {
    const at = seen.length;
    const bob = client('vk-bob-0123456789');
    const stores = await bob.responses.create({ model: 'gpt', input: 'search', tools: [{ type: 'file_search', vector_store_ids: ['vs_someone_elses'] }] }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect(stores).toBeInstanceOf(OpenAI.BadRequestError);
    expect((stores as InstanceType<typeof OpenAI.APIError>).param).toBe('tools[0].vector_store_ids');
    const named = await bob.responses.create({ model: 'gpt', input: 'run', tools: [{ type: 'code_interpreter', container: 'cntr_someone_elses' }] }).catch((e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
    expect((named as InstanceType<typeof OpenAI.APIError>).param).toBe('tools[0].container');
    expect(seen.length).toBe(at);
    await bob.responses.create({ model: 'gpt', input: 'run', tools: [{ type: 'code_interpreter', container: { type: 'auto' } }] });
    expect(seen.length).toBe(at + 1);
  });

  it('a model that routes to another provider cannot continue it: a 400 that says why', async () => {
    const r = await client('vk-alice-0123456789').responses.create({ model: 'gpt', input: 'hi' });
    const err = (await client('vk-alice-0123456789')
      .responses.create({ model: 'elsewhere', input: 'continue', previous_response_id: r.id })
      .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/stored by provider 'oa'/);
  });
});

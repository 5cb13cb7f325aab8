// Files and batches under virtual keys: every tenant shares the provider account, so the ids a client
// sees are sealed with where the object lives and whom it was made for (formats/openai/resource-ids.ts,
// pipeline/resources.ts). A tenant reaches its own uploads and batches by those ids, from the provider
// and key that store them; another tenant's, a provider's raw id, or an altered one are a 404, and a
// list (every tenant's) is refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { request } from 'undici';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startStack, type Stack } from '../helpers/stack.ts';
import { validateConfig } from '../../src/config/load.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';

let s: Stack;
const VK = { a: 'vk-tenant-a-0123456789abcdef', b: 'vk-tenant-b-0123456789abcdef' };
const ADMIN = 'admin-key-0123456789abcdef-0123';
const LINE = Buffer.from('{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}}\n');

beforeAll(async () => {
  s = await startStack({ one: {}, two: {} }, (m) => ({
    version: 1,
    providers: {
      one: { baseUrl: m.one!.baseUrl, keys: [{ name: 'k1', value: 'openai-key-one' }] },
      // Two keys, as two projects of one account would be: a file lives with the key that uploaded it.
      two: { baseUrl: m.two!.baseUrl, keys: [{ name: 'ka', value: 'openai-key-two-a' }, { name: 'kb', value: 'openai-key-two-b' }] },
    },
    routing: { defaultProvider: 'one' },
    // Both keys of 'two', each pinned: a file stored with one of them is reached through that one.
    rules: [
      {
        name: 'both-keys',
        when: 'model == "two-keys"',
        targets: [
          { provider: 'two', model: 'gpt-4o-mini', key: 'ka' },
          { provider: 'two', model: 'gpt-4o-mini', key: 'kb' },
          { provider: 'two', model: 'gpt-4o-mini' },
        ],
      },
    ],
    governance: {
      adminKey: ADMIN,
      db: join(mkdtempSync(join(tmpdir(), 'mg-files-db-')), 'gov.db'),
      virtualKeys: [
        { id: 'tenant-a', value: VK.a },
        { id: 'tenant-b', value: VK.b },
      ],
    },
  }));
});
afterAll(() => s.close());

const sdk = (key: string, provider?: string) => new OpenAI({ baseURL: `${s.gw.url}/v1`, apiKey: key, maxRetries: 0, defaultHeaders: provider === undefined ? {} : { 'x-microgate-provider': provider } });
const caught = (p: PromiseLike<unknown>) => Promise.resolve(p).then(() => null, (e: unknown) => e as InstanceType<typeof OpenAI.APIError>);
const upload = async (key: string, provider?: string) => sdk(key, provider).files.create({ file: await toFile(LINE, 'batch.jsonl'), purpose: 'batch' });

describe('a tenant reaches its own files and batches, by the ids it was given', () => {
  it('upload, retrieve, content, a batch over it, retrieve and cancel the batch, delete the file', async () => {
    const a = sdk(VK.a);
    const f = await upload(VK.a);
    expect(f.id).toMatch(/^file-mg_[A-Za-z0-9_-]+$/);
    expect((await a.files.retrieve(f.id)).id).toBe(f.id);
    expect(Buffer.from(await (await a.files.content(f.id)).arrayBuffer())).toEqual(LINE);
    const b = await a.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(b.id).toMatch(/^batch_mg_/);
    // The same file has the same id wherever it appears: clients compare them.
    expect(b.input_file_id).toBe(f.id);
    expect((await a.batches.retrieve(b.id)).input_file_id).toBe(f.id);
    expect((await a.batches.cancel(b.id)).status).toMatch(/cancel/);
    expect((await a.files.delete(f.id)).id).toBe(f.id);
    // The provider saw its own ids only.
    const seen = s.mocks.one!.stats().byPath;
    expect(Object.keys(seen).some((p) => p.includes('mg_'))).toBe(false);
  });

  it('a file is asked for at the provider and key that store it, whatever the default provider and key weights', async () => {
    const f = await upload(VK.a, 'two');
    const two = s.mocks.two!;
    const uploadedWith = Object.keys(two.stats().byKey).find((k) => (two.stats().byKey[k] ?? 0) > 0)!;
    two.resetStats();
    // No x-microgate-provider: without the sealed origin these would go to 'one', which has no such file.
    for (let i = 0; i < 12; i++) expect((await sdk(VK.a).files.retrieve(f.id)).id).toBe(f.id);
    expect(two.stats().byKey).toEqual({ [uploadedWith]: 12 });
  });
});

describe('a rule that pins keys', () => {
  it('a chat naming a file goes to the one of its targets pinned to the key storing it; the others are left out, not tried', async () => {
    const two = s.mocks.two!;
    two.resetStats();
    const f = await upload(VK.a, 'two');
    const storedWith = Object.keys(two.stats().byKey).find((k) => (two.stats().byKey[k] ?? 0) > 0)!;
    two.resetStats();
    for (let i = 0; i < 6; i++) {
      const r = await sdk(VK.a).chat.completions.create({ model: 'two-keys', messages: [{ role: 'user', content: [{ type: 'text', text: 'read it' }, { type: 'file', file: { file_id: f.id } }] }] });
      expect(r.choices[0]!.message.role).toBe('assistant');
    }
    expect(two.stats().byKey).toEqual({ [storedWith]: 6 });
  });

  it('and when that key fails, it is not tried again as another target (the unpinned target pinned to it is the same one)', async () => {
    const two = s.mocks.two!;
    const f = await upload(VK.a, 'two');
    const before = two.config();
    two.setConfig({ ...before, errorRate: 1, errorStatuses: [500] });
    try {
      const r = await request(`${s.gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${VK.a}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'two-keys', messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: f.id } }] }] }),
      });
      await r.body.text();
      expect(r.statusCode).toBeGreaterThanOrEqual(500);
      // One target: its first attempt and its retries (maxRetries 2), then nothing else to try.
      const route = String(r.headers['x-microgate-route']);
      const tried = route.split(' > ').filter((step) => !step.startsWith('rule:'));
      expect(new Set(tried.map((step) => step.split(':')[0])).size).toBe(1);
      expect(Number(r.headers['x-microgate-attempts'])).toBeLessThanOrEqual(3);
    } finally {
      two.setConfig(before);
    }
  });
});

describe('and no one else', () => {
  it("another tenant's file or batch is a 404, as an unknown id is; nothing reaches the provider", async () => {
    const f = await upload(VK.a);
    const batch = await sdk(VK.a).batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const before = s.mocks.one!.stats().requests;
    const b = sdk(VK.b);
    const attempts: PromiseLike<unknown>[] = [b.files.retrieve(f.id), b.files.content(f.id), b.files.delete(f.id), b.batches.retrieve(batch.id), b.batches.cancel(batch.id)];
    for (const attempt of attempts) {
      expect(await caught(attempt)).toBeInstanceOf(OpenAI.NotFoundError);
    }
    const using = await caught(b.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' }));
    expect(using).toBeInstanceOf(OpenAI.BadRequestError);
    expect(using!.param).toBe('input_file_id');
    expect(s.mocks.one!.stats().requests).toBe(before);
    // Still there for its owner.
    expect((await sdk(VK.a).files.retrieve(f.id)).id).toBe(f.id);
  });

  it("a provider's raw id, or a sealed one altered by a character, is a 404 too", async () => {
    const f = await upload(VK.a);
    const raw = JSON.parse((await (await request(`${s.mocks.one!.baseUrl}/files`, { headers: { authorization: 'Bearer openai-key-one' } })).body.text())) as { data: { id: string }[] };
    const rawId = raw.data[0]!.id;
    expect(rawId).toMatch(/^file-mock/);
    expect(await caught(sdk(VK.a).files.retrieve(rawId))).toBeInstanceOf(OpenAI.NotFoundError);
    const altered = f.id.slice(0, -2) + (f.id.at(-2) === 'A' ? 'B' : 'A') + f.id.at(-1);
    const err = await caught(sdk(VK.a).files.retrieve(altered));
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err!.message).toContain(altered);
  });

  it('a list, which would show every tenant’s, is refused with a reason', async () => {
    const lists: PromiseLike<unknown>[] = [sdk(VK.a).files.list(), sdk(VK.a).batches.list()];
    for (const list of lists) {
      const err = await caught(list);
      expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
      expect(err!.message).toMatch(/every tenant's/);
    }
  });
});

describe('what a tenant is, and where an id sends a request', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    request(`${s.gw.url}${path}`, { method: method as 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });

  it('a key deleted and made again under the same id is someone else: it does not inherit the first one’s files', async () => {
    const made = (await (await admin('POST', '/admin/virtual-keys', { id: 'carol' })).body.json()) as { value: string };
    const f = await upload(made.value);
    expect((await sdk(made.value).files.retrieve(f.id)).id).toBe(f.id);
    // Rotating the value keeps the key, and what it was given.
    const rotated = (await (await admin('POST', '/admin/virtual-keys/carol/rotate')).body.json()) as { value: string };
    expect((await sdk(rotated.value).files.retrieve(f.id)).id).toBe(f.id);
    expect((await admin('DELETE', '/admin/virtual-keys/carol')).statusCode).toBe(200);
    const again = (await (await admin('POST', '/admin/virtual-keys', { id: 'carol' })).body.json()) as { value: string };
    expect(await caught(sdk(again.value).files.retrieve(f.id))).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('a sealed id names its provider whatever the x-microgate-provider header says', async () => {
    const f = await upload(VK.a, 'two');
    expect((await sdk(VK.a, 'nobody').files.retrieve(f.id)).id).toBe(f.id);
    expect((await sdk(VK.a, 'one').files.retrieve(f.id)).id).toBe(f.id);
  });
});

describe('file ids inside a chat, and answers that are not what they claim (a stand-in provider)', () => {
  let stub: Server;
  let gw: Gateway;
  const bodies: Array<{ method: string; url: string; body: string }> = [];
  const FILE = { object: 'file', bytes: 3, created_at: 1, filename: 'a.jsonl', purpose: 'user_data', status: 'processed' };
  let deep = '';

  beforeAll(async () => {
    deep = '{"a":'.repeat(20_000) + '1' + '}'.repeat(20_000);
    stub = createServer((req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        bodies.push({ method: req.method!, url: req.url!, body: raw });
        const json = (status: number, body: string, type = 'application/json') => {
          res.writeHead(status, { 'content-type': type });
          res.end(body);
        };
        if (req.method === 'POST' && req.url === '/v1/files') return json(200, JSON.stringify({ ...FILE, id: 'file-stub1' }));
        // A file whose content is a FileObject naming someone else's file: content, never an answer to seal.
        if (req.url === '/v1/files/file-stub1/content') return json(200, JSON.stringify({ object: 'file', id: 'file-VICTIM' }));
        // A FileObject labelled as text: not relayed as bytes with the provider's raw id in it.
        if (req.method === 'GET' && req.url === '/v1/files/file-stub1') return json(200, JSON.stringify({ ...FILE, id: 'file-stub1' }), 'text/plain');
        if (req.method === 'POST' && req.url === '/v1/batches') return json(200, `{"id":"batch_stub1","object":"batch","metadata":${deep}}`);
        if (req.method === 'DELETE' && req.url === '/v1/files/file-stub1') {
          res.writeHead(204);
          return res.end();
        }
        if (req.method === 'POST' && req.url === '/v1/chat/completions') {
          return json(200, JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }));
        }
        json(404, '{"error":{"message":"no","type":"invalid_request_error"}}');
      });
    });
    await new Promise<void>((done) => stub.listen(0, '127.0.0.1', done));
    const base = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/v1`;
    gw = await startGateway(
      validateConfig(
        {
          version: 1,
          providers: { st: { baseUrl: base, keys: [{ name: 'k', value: 'sk-stub-0123456789' }] }, other: { baseUrl: base, keys: [{ name: 'k', value: 'sk-other-0123456789' }] } },
          governance: { virtualKeys: [{ id: 'a', value: VK.a }, { id: 'b', value: VK.b }] },
          routing: { defaultProvider: 'st' },
          telemetry: { enabled: false },
        },
        {},
      ),
      { host: '127.0.0.1', port: 0 },
    );
  });
  afterAll(async () => {
    await gw.close();
    await new Promise((done) => stub.close(done));
  });

  const client = (key: string) => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
  const stubUpload = async (key: string) => client(key).files.create({ file: await toFile(Buffer.from('abc'), 'a.jsonl'), purpose: 'user_data' });
  const chatWith = (key: string, fileId: string, model = 'st/gpt-4o') =>
    client(key).chat.completions.create({ model, messages: [{ role: 'user', content: [{ type: 'text', text: 'read it' }, { type: 'file', file: { file_id: fileId } }] }] });

  it('a chat naming its own file reaches the provider with the provider’s id; another tenant’s, or a raw id, is refused before', async () => {
    const f = await stubUpload(VK.a);
    bodies.length = 0;
    expect((await chatWith(VK.a, f.id)).choices[0]!.message.content).toBe('ok');
    expect(JSON.parse(bodies.at(-1)!.body).messages[0].content[1].file.file_id).toBe('file-stub1');
    bodies.length = 0;
    for (const attempt of [chatWith(VK.b, f.id), chatWith(VK.a, 'file-stub1')]) {
      const err = await caught(attempt);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err!.param).toBe('messages');
    }
    // Nor behind an escaped key, which parses as file_id all the same.
    const escaped = await request(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VK.a}`, 'content-type': 'application/json' },
      body: '{"model":"st/gpt-4o","messages":[{"role":"user","content":[{"type":"file","file":{"file\\u005fid":"file-stub1"}}]}]}',
    });
    expect(escaped.statusCode).toBe(400);
    await escaped.body.text();
    // Stored elsewhere than the model routes to: said so, not sent.
    const elsewhere = await caught(chatWith(VK.a, f.id, 'other/gpt-4o'));
    expect(elsewhere!.message).toMatch(/stored by provider 'st'/);
    expect(bodies).toEqual([]);
  });

  it("a file's content is relayed as it is, even when it looks like a FileObject; a FileObject labelled as text is still read, and sealed", async () => {
    const f = await stubUpload(VK.a);
    const content = await (await client(VK.a).files.content(f.id)).text();
    expect(JSON.parse(content)).toEqual({ object: 'file', id: 'file-VICTIM' });
    const got = await request(`${gw.url}/v1/files/${f.id}`, { headers: { authorization: `Bearer ${VK.a}` } });
    const text = await got.body.text();
    expect(got.statusCode).toBe(200);
    expect(text).not.toContain('file-stub1');
    expect(JSON.parse(text).id).toBe(f.id);
  });

  it('a batch the provider made is not made again when its answer cannot be read, by the gateway or by the client', async () => {
    const f = await stubUpload(VK.a);
    bodies.length = 0;
    const r = await request(`${gw.url}/v1/batches`, {
      method: 'POST',
      headers: { authorization: `Bearer ${VK.a}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    });
    await r.body.text();
    expect(r.statusCode).toBe(502);
    // The OpenAI and Anthropic SDKs retry a 5xx unless told not to.
    expect(r.headers['x-should-retry']).toBe('false');
    expect(bodies.filter((b) => b.method === 'POST' && b.url === '/v1/batches')).toHaveLength(1);
  });

  it('a deletion answered 204 without a body is relayed as it is, not read as a broken answer and sent again', async () => {
    const f = await stubUpload(VK.a);
    bodies.length = 0;
    const r = await request(`${gw.url}/v1/files/${f.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${VK.a}` } });
    await r.body.text();
    expect(r.statusCode).toBe(204);
    expect(bodies.filter((b) => b.method === 'DELETE')).toHaveLength(1);
  });

  it("a file_id that is the client's own data (a tool's input) is left alone; a Messages file source is held to the rules", async () => {
    const post = (body: Record<string, unknown>) =>
      request(`${gw.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': VK.a, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'st/gpt-4o', max_tokens: 16, ...body }) });
    const ownData = await post({
      messages: [
        { role: 'user', content: 'open my doc' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'open_doc', input: { file_id: 'doc-123' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'opened' }] },
      ],
      tools: [{ name: 'open_doc', input_schema: { type: 'object', properties: { file_id: { type: 'string' } } } }],
    });
    await ownData.body.text();
    expect(ownData.statusCode).toBe(200);
    const source = await post({ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'file', file_id: 'file_011abc' } }, { type: 'text', text: 'summarise' }] }] });
    expect(source.statusCode).toBe(400);
    expect(((await source.body.json()) as { error: { message: string } }).error.message).toMatch(/No such File object: file_011abc/);
  });

  it('a raw file id is refused wherever a Responses request can name one: a tool output, a container', async () => {
    bodies.length = 0;
    const refused = async (body: Record<string, unknown>) => {
      const r = await request(`${gw.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${VK.a}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'st/gpt-4o', ...body }) });
      expect(r.statusCode).toBe(400);
      expect(((await r.body.json()) as { error: { message: string } }).error.message).toMatch(/No such File object: file-stub1/);
    };
    await refused({ input: [{ type: 'function_call_output', call_id: 'c1', output: [{ type: 'input_file', file_id: 'file-stub1' }] }] });
    await refused({ input: 'run it', tools: [{ type: 'code_interpreter', container: { type: 'auto', file_ids: ['file-stub1'] } }] });
    expect(bodies).toEqual([]);
  });
});

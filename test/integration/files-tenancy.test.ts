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
import { startStack, type Stack } from '../helpers/stack.ts';

let s: Stack;
const VK = { a: 'vk-tenant-a-0123456789abcdef', b: 'vk-tenant-b-0123456789abcdef' };
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
    governance: {
      adminKey: 'admin-key-0123456789abcdef-0123',
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

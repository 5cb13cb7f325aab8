// Sealed file and batch ids (formats/openai/resource-ids.ts, util/sealed-ids.ts): what the gateway
// hands out opens back to where the object lives and whom it was made for; nothing else opens.
import { describe, expect, it } from 'vitest';
import { ResourceIds, sealResourceAnswer } from '../../src/formats/openai/resource-ids.ts';
import { ResponseIds } from '../../src/formats/responses/ids.ts';

const secret = Buffer.from('an-id-secret-of-at-least-32-characters!!');
const ids = new ResourceIds(secret);
const at = { provider: 'openai', key: 'k1', owner: 'tenant-a' };
const json = (b: Buffer) => JSON.parse(b.toString()) as Record<string, any>;

describe('sealed file and batch ids', () => {
  it('open back to their origin; the same object seals to the same id, another owner or key to another', () => {
    const sealed = ids.files.seal({ ...at, id: 'file-abc' });
    expect(sealed).toMatch(/^file-mg_[A-Za-z0-9_-]+$/);
    expect(ids.files.open(sealed)).toEqual({ ...at, id: 'file-abc' });
    expect(ids.files.seal({ ...at, id: 'file-abc' })).toBe(sealed);
    expect(ids.files.seal({ ...at, owner: 'tenant-b', id: 'file-abc' })).not.toBe(sealed);
    expect(ids.files.seal({ ...at, key: 'k2', id: 'file-abc' })).not.toBe(sealed);
    // The provider's own id does not show in the sealed one.
    expect(sealed).not.toContain('abc');
  });

  it('a provider id is not one of ours (null); an altered id, another kind or another secret is forged', () => {
    expect(ids.files.open('file-abc')).toBeNull();
    expect(ids.batches.open('batch_abc')).toBeNull();
    const sealed = ids.files.seal({ ...at, id: 'file-abc' });
    const flipped = sealed.slice(0, -1) + (sealed.endsWith('A') ? 'B' : 'A');
    expect(ids.files.open(flipped)).toBe('forged');
    // The same payload presented as a batch id: each kind has its own key.
    expect(ids.batches.open(`batch_mg_${sealed.slice('file-mg_'.length)}`)).toBe('forged');
    expect(new ResourceIds(Buffer.from('another-secret-of-at-least-32-characters')).files.open(sealed)).toBe('forged');
    // Nor does a Responses id open as a file id, or the reverse.
    const resp = new ResponseIds(secret).seal({ ...at, id: 'resp_1' });
    expect(ids.files.open(`file-mg_${resp.slice('resp_mg'.length)}`)).toBe('forged');
  });

  it('only the exact encoding opens: characters the decoder would skip make another id, not an alias', () => {
    const sealed = ids.files.seal({ ...at, id: 'file-abc' });
    for (const alias of [`${sealed}~`, `${sealed}.`, `${sealed}=`, `${sealed.slice(0, 12)}.${sealed.slice(12)}`]) expect(ids.files.open(alias)).toBe('forged');
  });
});

describe('sealResourceAnswer', () => {
  it('a file, a deletion, a batch and its file ids', () => {
    const file = json(sealResourceAnswer(Buffer.from('{"id":"file-1","object":"file","bytes":3,"filename":"a.jsonl"}'), ids, at, 'files'));
    expect(ids.files.open(file.id)).toEqual({ ...at, id: 'file-1' });
    expect(file.filename).toBe('a.jsonl');
    const gone = json(sealResourceAnswer(Buffer.from('{"id":"file-1","object":"file","deleted":true}'), ids, at, 'files'));
    expect(gone.id).toBe(file.id);
    const batch = json(
      sealResourceAnswer(Buffer.from('{"id":"batch_1","object":"batch","input_file_id":"file-1","output_file_id":"file-2","error_file_id":null,"status":"completed"}'), ids, at, 'batches'),
    );
    expect(ids.batches.open(batch.id)).toEqual({ ...at, id: 'batch_1' });
    expect(batch.input_file_id).toBe(file.id);
    expect(ids.files.open(batch.output_file_id)).toEqual({ ...at, id: 'file-2' });
    expect(batch.error_file_id).toBeNull();
  });

  it('a list: every item, and the cursors alike', () => {
    const page = json(
      sealResourceAnswer(
        Buffer.from('{"object":"list","data":[{"id":"batch_1","object":"batch","input_file_id":"file-1"},{"id":"batch_2","object":"batch","input_file_id":"file-2"}],"first_id":"batch_1","last_id":"batch_2","has_more":true}'),
        ids,
        at,
        'batches',
      ),
    );
    expect(page.first_id).toBe(page.data[0].id);
    expect(page.last_id).toBe(page.data[1].id);
    expect(ids.batches.open(page.last_id)).toEqual({ ...at, id: 'batch_2' });
    expect(page.has_more).toBe(true);
  });

  it("a provider's id shaped like the gateway's (a gateway behind this one) is sealed all the same", () => {
    const inner = ids.files.seal({ provider: 'inner', key: 'k', owner: 'x', id: 'file-deep' });
    const file = json(sealResourceAnswer(Buffer.from(JSON.stringify({ id: inner, object: 'file' })), ids, at, 'files'));
    expect(ids.files.open(file.id)).toEqual({ ...at, id: inner });
  });

  it('an answer nested too deeply to write back is an error, never the provider ids as they came', () => {
    const deep = Buffer.from(`{"id":"batch_1","object":"batch","metadata":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}}`);
    expect(() => sealResourceAnswer(deep, ids, at, 'batches')).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
  });

  it("an object without `object` (a compatible provider's) is sealed as the route's kind; what cannot be read is refused", () => {
    const bare = json(sealResourceAnswer(Buffer.from('{"id":"file-9","bytes":3}'), ids, at, 'files'));
    expect(ids.files.open(bare.id)).toEqual({ ...at, id: 'file-9' });
    const page = json(sealResourceAnswer(Buffer.from('{"data":[{"id":"batch_9","input_file_id":"file-9"}]}'), ids, at, 'batches'));
    expect(ids.batches.open(page.data[0].id)).toEqual({ ...at, id: 'batch_9' });
    expect(page.data[0].input_file_id).toBe(bare.id);
    for (const body of ['[1,2]', 'not json', '"file-1"']) expect(() => sealResourceAnswer(Buffer.from(body), ids, at, 'files')).toThrow(expect.objectContaining({ code: 'upstream_bad_response' }));
  });
});

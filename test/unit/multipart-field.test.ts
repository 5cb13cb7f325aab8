import { describe, expect, it } from 'vitest';
import { boundaryOf, findField, replaceField } from '../../src/util/multipart-field.ts';

/** A form as undici's FormData encodes one (the OpenAI SDK's uploads), the file first. */
async function form(fields: Array<[string, string | Blob, string?]>): Promise<{ body: Buffer; type: string }> {
  const fd = new FormData();
  for (const [k, v, filename] of fields) typeof v === 'string' ? fd.append(k, v) : fd.append(k, v, filename);
  const r = new Response(fd);
  return { body: Buffer.from(await r.arrayBuffer()), type: r.headers.get('content-type')! };
}

describe('multipart fields', () => {
  it('finds the model after a file part whose bytes look like delimiters and headers, and replaces it', async () => {
    const tricky = new Blob([Buffer.from('--not-the-boundary\r\ncontent-disposition: form-data; name="model"\r\n\r\nfake\r\n')]);
    const { body, type } = await form([['file', tricky, 'a.mp3'], ['model', 'whisper-alias'], ['language', 'en']]);
    const boundary = boundaryOf(type)!;
    const span = findField(body, boundary, 'model')!;
    expect(span.value).toBe('whisper-alias');
    const out = replaceField(body, span, 'whisper-1');
    const parsed = await new Response(out, { headers: { 'content-type': type } }).formData();
    expect(parsed.get('model')).toBe('whisper-1');
    expect(parsed.get('language')).toBe('en');
    expect(Buffer.from(await (parsed.get('file') as Blob).arrayBuffer())).toEqual(Buffer.from(await tricky.arrayBuffer()));
  });

  it('says when a second field of the same name follows (the provider might read that one)', async () => {
    const once = await form([['model', 'gpt-4o-mini-transcribe'], ['file', new Blob(['x']), 'a.mp3']]);
    expect(findField(once.body, boundaryOf(once.type)!, 'model')).toMatchObject({ value: 'gpt-4o-mini-transcribe', repeated: false });
    const twice = await form([['model', 'gpt-4o-mini-transcribe'], ['file', new Blob(['x']), 'a.mp3'], ['model', 'whisper-1']]);
    expect(findField(twice.body, boundaryOf(twice.type)!, 'model')).toMatchObject({ value: 'gpt-4o-mini-transcribe', repeated: true });
  });

  it('no such field, a file part of that name, or a cut body: null', async () => {
    const { body, type } = await form([['file', new Blob(['x']), 'model'], ['purpose', 'batch']]);
    expect(findField(body, boundaryOf(type)!, 'model')).toBeNull();
    const withModel = await form([['model', 'm']]);
    expect(findField(withModel.body.subarray(0, withModel.body.length - 20), boundaryOf(withModel.type)!, 'model')).toBeNull();
    expect(findField(Buffer.from(''), 'b', 'model')).toBeNull();
  });

  it('reads the boundary, quoted or not; a type that is not a form has none', () => {
    expect(boundaryOf('multipart/form-data; boundary=----abc123')).toBe('----abc123');
    expect(boundaryOf('multipart/form-data; charset=utf-8; boundary="a b"')).toBe('a b');
    expect(boundaryOf('application/json')).toBeNull();
    expect(boundaryOf('multipart/form-data')).toBeNull();
  });
});

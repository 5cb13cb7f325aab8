// /v1/files (OpenAI API reference, "Files"; openai-node src/resources/files.ts, FileObject / FileDeleted, CursorPage):
//   POST   /v1/files               multipart `file` + `purpose` (assistants, batch, fine-tune, vision, user_data,
//                                  evals) → the FileObject {id:"file-mock…", object:"file", bytes, created_at,
//                                  filename, purpose, status:"processed"}; 400 without file or with another purpose
//   GET    /v1/files               {object:"list", data, first_id, last_id, has_more}, newest first; `purpose`,
//                                  `order` (asc|desc), `limit` (1–10000), `after` (an id) as the API takes them
//   GET    /v1/files/{id}          the FileObject
//   GET    /v1/files/{id}/content  the bytes as uploaded (application/octet-stream)
//   DELETE /v1/files/{id}          {id, object:"file", deleted:true}
// An unknown id → 404 "No such File object". Files live in memory, per mock instance, until deleted or closed.
// Knobs: the shared gate (gate.ts); malformedRate halves the JSON body, or the content's bytes.

import type { Behavior } from './config.ts';
import type { Exchange } from './exchange.ts';
import { halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import { field } from './multipart.ts';
import type { Form, FormError } from './multipart.ts';
import type { Json } from './responses-input.ts';

/** OpenAI's own cap on one upload. */
export const MAX_FILE_BYTES = 512 * 1024 * 1024;
const PURPOSES = ['assistants', 'batch', 'fine-tune', 'vision', 'user_data', 'evals'];

export interface StoredFile {
  meta: Json & { id: string; purpose: string; created_at: number };
  data: Buffer;
}

export const noSuchFile = (id: string): string => invalidRequest(`No such File object: ${id}`, null, 'id');

/** A cursor page the way OpenAI's list endpoints cut one (`after` an id, `limit`, has_more). */
export function cursorPage(items: Json[], query: URLSearchParams, defaultLimit: number): string | { invalid: string } {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? defaultLimit : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10000) return { invalid: invalidRequest("Invalid 'limit': expected an integer from 1 to 10000.", 'invalid_value', 'limit') };
  const after = query.get('after');
  const start = after === null ? 0 : items.findIndex((it) => it.id === after) + 1;
  const data = items.slice(start, start + limit);
  return JSON.stringify({
    object: 'list',
    data,
    first_id: (data[0]?.id as string | undefined) ?? null,
    last_id: (data[data.length - 1]?.id as string | undefined) ?? null,
    has_more: start + limit < items.length,
  });
}

export class FileStore {
  private readonly files = new Map<string, StoredFile>();

  get(id: string): StoredFile | undefined {
    return this.files.get(id);
  }

  create(host: SurfaceHost, ex: Exchange, b: Behavior, form: Form | FormError): void {
    if ('status' in form) return ex.json(form.status, invalidRequest(form.message, form.code, form.param));
    const file = form.file;
    if (file === null || file.data === null) return ex.json(400, invalidRequest("Missing required parameter: 'file'.", 'missing_required_parameter', 'file'));
    const purpose = field(form, 'purpose');
    if (purpose === undefined) return ex.json(400, invalidRequest("Missing required parameter: 'purpose'.", 'missing_required_parameter', 'purpose'));
    if (!PURPOSES.includes(purpose)) {
      return ex.json(400, invalidRequest(`Invalid value: '${purpose}'. Supported values are: ${PURPOSES.map((p) => `'${p}'`).join(', ')}.`, 'invalid_value', 'purpose'));
    }
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    const created = Math.floor(Date.now() / 1000);
    const meta: StoredFile['meta'] = {
      id: `file-mock${host.nextSeq()}`,
      object: 'file',
      bytes: file.bytes,
      created_at: created,
      filename: file.filename,
      purpose,
      status: 'processed',
      status_details: null,
    };
    const ttl = Number(field(form, 'expires_after[seconds]'));
    if (Number.isInteger(ttl) && ttl > 0) meta.expires_at = created + ttl;
    this.files.set(meta.id, { meta, data: file.data });
    const out = JSON.stringify(meta);
    ex.json(200, malformed ? halve(out) : out);
  }

  list(host: SurfaceHost, ex: Exchange, b: Behavior, query: URLSearchParams): void {
    const purpose = query.get('purpose');
    let items = [...this.files.values()].map((f) => f.meta).filter((m) => purpose === null || m.purpose === purpose);
    if (query.get('order') !== 'asc') items = items.reverse();
    const page = cursorPage(items, query, 10000);
    if (typeof page !== 'string') return ex.json(400, page.invalid);
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    ex.json(200, malformed ? halve(page) : page);
  }

  retrieve(host: SurfaceHost, ex: Exchange, b: Behavior, id: string): void {
    const file = this.files.get(id);
    if (file === undefined) return ex.json(404, noSuchFile(id));
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    const out = JSON.stringify(file.meta);
    ex.json(200, malformed ? halve(out) : out);
  }

  content(host: SurfaceHost, ex: Exchange, b: Behavior, id: string): void {
    const file = this.files.get(id);
    if (file === undefined) return ex.json(404, noSuchFile(id));
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    ex.send(200, 'application/octet-stream', malformed ? halve(file.data) : file.data);
  }

  remove(host: SurfaceHost, ex: Exchange, b: Behavior, id: string): void {
    if (!this.files.has(id)) return ex.json(404, noSuchFile(id));
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    this.files.delete(id);
    const out = JSON.stringify({ id, object: 'file', deleted: true });
    ex.json(200, malformed ? halve(out) : out);
  }
}

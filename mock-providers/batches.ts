// /v1/batches (OpenAI API reference, "Batch"; openai-node src/resources/batches.ts, Batch / CursorPage):
//   POST /v1/batches              {input_file_id, endpoint, completion_window:"24h", metadata?} → the Batch
//                                 {id:"batch_mock…", object:"batch", status:"validating", …}; the file must exist
//                                 (404 "No such File object", files.ts) and have purpose "batch" (400); a bad endpoint
//                                 or window → 400
//   GET  /v1/batches/{id}         the Batch; one that was cancelled reads "cancelled" from then on
//   POST /v1/batches/{id}/cancel  → status "cancelling" (cancelling_at set); cancelling twice changes nothing
//   GET  /v1/batches              {object:"list", data, first_id, last_id, has_more}, newest first, `after`/`limit` (default 20)
// An unknown batch id → 404. Batches never run: they stay "validating" until cancelled. In memory, per mock instance.
// Knobs: the shared gate (gate.ts); malformedRate halves the JSON body.

import type { Behavior } from './config.ts';
import type { Exchange } from './exchange.ts';
import { cursorPage, noSuchFile } from './files.ts';
import type { FileStore } from './files.ts';
import { halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import type { Json } from './responses-input.ts';

const ENDPOINTS = ['/v1/responses', '/v1/chat/completions', '/v1/embeddings', '/v1/completions', '/v1/moderations', '/v1/images/generations', '/v1/images/edits', '/v1/videos'];

type Batch = Json & { id: string; status: string };

const noSuchBatch = (id: string): string => invalidRequest(`No batch found with id '${id}'.`, null, 'batch_id');

export class BatchStore {
  private readonly batches = new Map<string, Batch>();

  constructor(private readonly files: FileStore) {}

  create(host: SurfaceHost, ex: Exchange, b: Behavior, body: Json): void {
    const { input_file_id: fileId, endpoint, completion_window: window } = body;
    if (typeof fileId !== 'string' || fileId === '') return ex.json(400, invalidRequest("Missing required parameter: 'input_file_id'.", 'missing_required_parameter', 'input_file_id'));
    if (typeof endpoint !== 'string' || !ENDPOINTS.includes(endpoint)) {
      return ex.json(400, invalidRequest(`Invalid value: '${String(endpoint)}'. Supported values are: ${ENDPOINTS.map((e) => `'${e}'`).join(', ')}.`, 'invalid_value', 'endpoint'));
    }
    if (window !== '24h') return ex.json(400, invalidRequest(`Invalid value: '${String(window)}'. Supported values are: '24h'.`, 'invalid_value', 'completion_window'));
    const file = this.files.get(fileId);
    if (file === undefined) return ex.json(404, noSuchFile(fileId));
    if (file.meta.purpose !== 'batch') {
      return ex.json(400, invalidRequest(`The input file must have purpose 'batch', but ${fileId} has purpose '${file.meta.purpose}'.`, 'invalid_value', 'input_file_id'));
    }
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    const created = Math.floor(Date.now() / 1000);
    const batch: Batch = {
      id: `batch_mock${host.nextSeq()}`,
      object: 'batch',
      endpoint,
      errors: null,
      input_file_id: fileId,
      completion_window: window,
      status: 'validating',
      output_file_id: null,
      error_file_id: null,
      created_at: created,
      in_progress_at: null,
      expires_at: created + 86400,
      finalizing_at: null,
      completed_at: null,
      failed_at: null,
      expired_at: null,
      cancelling_at: null,
      cancelled_at: null,
      request_counts: { total: 0, completed: 0, failed: 0 },
      metadata: body.metadata ?? null,
    };
    this.batches.set(batch.id, batch);
    this.answer(ex, batch, malformed);
  }

  retrieve(host: SurfaceHost, ex: Exchange, b: Behavior, id: string): void {
    const batch = this.batches.get(id);
    if (batch === undefined) return ex.json(404, noSuchBatch(id));
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    this.answer(ex, settle(batch), malformed);
  }

  cancel(host: SurfaceHost, ex: Exchange, b: Behavior, id: string): void {
    const batch = this.batches.get(id);
    if (batch === undefined) return ex.json(404, noSuchBatch(id));
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    if (batch.status === 'validating' || batch.status === 'in_progress') {
      batch.status = 'cancelling';
      batch.cancelling_at = Math.floor(Date.now() / 1000);
    }
    this.answer(ex, batch, malformed);
  }

  list(host: SurfaceHost, ex: Exchange, b: Behavior, query: URLSearchParams): void {
    const page = cursorPage([...this.batches.values()].map(settle).reverse(), query, 20);
    if (typeof page !== 'string') return ex.json(400, page.invalid);
    const malformed = rollFault(host, ex, b);
    if (malformed === null) return;
    ex.json(200, malformed ? halve(page) : page);
  }

  private answer(ex: Exchange, batch: Batch, malformed: boolean): void {
    const out = JSON.stringify(batch);
    ex.json(200, malformed ? halve(out) : out);
  }
}

/** A cancelling batch has finished cancelling by the time anyone looks again. */
function settle(batch: Batch): Batch {
  if (batch.status === 'cancelling') {
    batch.status = 'cancelled';
    batch.cancelled_at = Math.floor(Date.now() / 1000);
  }
  return batch;
}

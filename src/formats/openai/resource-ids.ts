// Files and batches as the gateway hands them out. They live in the account of the provider key that
// made them, and every virtual key shares that account: with the provider's own ids, any tenant could
// read, use or delete another's uploads and batch outputs by naming them, and the next request for a
// file could go to another key or provider that does not have it. So, as for Responses ids
// (formats/responses/ids.ts), the ids a client sees are sealed with where the object lives and whom it
// was made for (util/sealed-ids.ts): "file-mg_…" and "batch_mg_…" (OpenAI's own are "file-" and
// "batch_" followed by letters and digits, never a second "_"). Sealed deterministically: a file's id
// is the same in its upload's answer and in the batch that reads it, as clients compare them.
// LiteLLM's managed files solve the same problem with ids that encode the deployment and a database
// of owners; here the id itself is the record.
import { SealedIds, type SealedOrigin } from '../../util/sealed-ids.ts';
import { isObj } from '../../util/json-object.ts';
import { GatewayError } from '../../errors/gateway-error.ts';

export class ResourceIds {
  readonly files: SealedIds;
  readonly batches: SealedIds;

  constructor(secret: Buffer, previous: readonly Buffer[] = []) {
    this.files = new SealedIds(secret, 'file ids', 'file-mg_', 'deterministic', previous);
    this.batches = new SealedIds(secret, 'batch ids', 'batch_mg_', 'deterministic', previous);
  }
}

/** Where the objects of one answer live and whom they were made for: the origin of each id but the id. */
export type AnswerOrigin = Omit<SealedOrigin, 'id'>;

/** A batch's fields that name files (OpenAI's Batch object). */
const BATCH_FILE_FIELDS = ['input_file_id', 'output_file_id', 'error_file_id'] as const;

/**
 * A files or batches answer (a FileObject, a Batch, a deletion, or a list of them) with every id the
 * provider put in it sealed: objects by their `object`, or, without one (a compatible provider may
 * leave it out), as the route's kind. Sealed or refused: an answer that cannot be read, or written back,
 * is a GatewayError, never the provider's ids as they came.
 */
export function sealResourceAnswer(body: Buffer, ids: ResourceIds, at: AnswerOrigin, kind: 'files' | 'batches'): Buffer {
  let j: unknown;
  try {
    j = JSON.parse(body.toString('utf8'));
  } catch {
    throw new GatewayError('upstream_bad_response', 'The provider sent a files or batches answer that is not JSON.');
  }
  if (!isObj(j)) throw new GatewayError('upstream_bad_response', 'The provider sent a files or batches answer that is not an object.');
  // Whatever the provider put there is its own id, even one shaped like ours (a gateway behind this
  // one): the gateway never sends a sealed id upstream, so every one is sealed here, once.
  const seal = (sealer: SealedIds, id: unknown): unknown => (typeof id === 'string' && id !== '' ? sealer.seal({ ...at, id }) : id);
  const one = (o: unknown): void => {
    if (!isObj(o)) return;
    const batch = o.object === undefined ? kind === 'batches' : o.object === 'batch';
    if (!batch) {
      o.id = seal(ids.files, o.id);
      return;
    }
    o.id = seal(ids.batches, o.id);
    for (const f of BATCH_FILE_FIELDS) o[f] = seal(ids.files, o[f]);
  };
  if (j.object === 'list' || (j.object === undefined && Array.isArray(j.data))) {
    for (const item of Array.isArray(j.data) ? j.data : []) one(item);
    // The cursors name items of the page: sealed alike, so `after` takes them back.
    const sealer = kind === 'batches' ? ids.batches : ids.files;
    for (const k of ['first_id', 'last_id']) j[k] = seal(sealer, j[k]);
  } else one(j);
  // JSON.stringify recurses: an answer nested thousands deep (metadata, say) cannot be sealed, and must
  // not go out with the provider's ids in it.
  try {
    return Buffer.from(JSON.stringify(j));
  } catch {
    throw new GatewayError('upstream_bad_response', 'The provider sent a files or batches answer nested too deeply to read.');
  }
}

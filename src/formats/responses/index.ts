// The OpenAI Responses API (POST /v1/responses) as a client dialect: a client of the `openai` SDK
// calling responses.create / .stream / .parse reaches any provider. The request becomes the canonical
// one (request.ts, input.ts), which the provider's codec writes in its own format; the provider's
// answer and stream come back as a Responses `Response` (response.ts) and Responses SSE events
// (stream.ts). Errors are OpenAI's, in body and status (errors.ts). No provider speaks this format, so
// there is no codec and never a pass-through: every answer is rendered here.
// Spec: openai-node 6.49 `resources/responses`; test/fixtures/conformance/responses/README.md.
import { openaiStatus } from '../errors.ts';
import type { CanonicalField } from '../canonical.ts';
import type { Dialect } from '../format.ts';
import { errorEvent, renderResponsesError } from './errors.ts';
import { checkResponses, responsesToCanonical } from './request.ts';
import { responseFromCanonical } from './response.ts';
import { ResponsesStreamEncoder } from './stream.ts';

export { ResponsesStreamEncoder } from './stream.ts';

/** Unix seconds for `created_at`: the dialects are pure, so the clock is read here, once per answer or stream. */
const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** The fields a provider's codec may leave out, in this dialect's words (x-microgate-dropped). */
const RESPONSES_FIELD: Partial<Record<CanonicalField, string>> = {
  thinking: 'reasoning',
  tool_result_image: 'function_call_output.output.input_image',
  tool_result_document: 'function_call_output.output.input_file',
};

export const responsesDialect: Dialect = {
  format: 'responses',
  check: checkResponses,
  toCanonical: (b) => responsesToCanonical(b),
  fieldName: (f) => RESPONSES_FIELD[f] ?? f,
  renderResponse: (r, client) => responseFromCanonical(r, client, nowSeconds()),
  streamEncoder: (req, client) => new ResponsesStreamEncoder(req, client, nowSeconds()),
  status: openaiStatus,
  renderError: renderResponsesError,
  /**
   * Without the stream's encoder the event's position is unknown: 0 stands in. The encoder's own
   * `error()` numbers it after the events already sent, which is what a client should get (the
   * gateway's error boundary does not hand the encoder over yet).
   */
  renderStreamError: (err) => errorEvent(err, 0),
};

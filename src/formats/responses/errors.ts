// Errors for a Responses client: OpenAI's error body and statuses (formats/errors.ts), with two
// adjustments of this dialect.
//
//   - Codes: OpenAI's own Responses code where it has one for the class: `overloaded_error` →
//     `server_is_overloaded`, `api_error` → `server_error` (README "Streams" 8 and decision 16;
//     rate_limit_error → rate_limit_exceeded is already formats/errors.ts's). A chat provider's error
//     without a code is known by its type.
//   - Params: a codec refuses what its provider cannot do in the chat dialect's words (anthropic
//     request.ts names `response_format` for json_object); the client is told the field it sent
//     (`text.format`: fixture refuse-text-format-json-object), in `param` and in the message's quotes.
//
// In a stream the error is the flat `ResponseErrorEvent` {type, code, message, param, sequence_number}
// (openai-node 6.49; README decision 16) and nothing follows it: no response.failed, no [DONE].
import type { GatewayError } from '../../errors/gateway-error.ts';
import { openaiError, type OpenAIErrorFields } from '../errors.ts';

const RESPONSES_CODE: Readonly<Record<string, string>> = {
  overloaded_error: 'server_is_overloaded',
  api_error: 'server_error',
};

/** Chat-dialect field names a codec may refuse → the Responses request's own. */
const RESPONSES_PARAM: Readonly<Record<string, string>> = {
  response_format: 'text.format',
  max_tokens: 'max_output_tokens',
  max_completion_tokens: 'max_output_tokens',
  reasoning_effort: 'reasoning.effort',
  messages: 'input',
};

function param(p: string | null): string | null {
  if (p === null) return null;
  const mapped = RESPONSES_PARAM[p];
  if (mapped !== undefined) return mapped;
  // `messages[3].content` has no exact twin in `input` (turns are merged): the field is `input`.
  return p.startsWith('messages[') ? 'input' : p;
}

/** A chat field quoted in a codec's message ('response_format', 'messages[2].content[0]'), with its path. */
const QUOTED_CHAT_FIELD = new RegExp(`'((?:${Object.keys(RESPONSES_PARAM).join('|')})(?:\\[[^']*)?)'`, 'g');

/** The OpenAI error fields as a Responses client reads them. */
export function responsesError(err: GatewayError): OpenAIErrorFields {
  const o = openaiError(err);
  const message = o.message.replace(QUOTED_CHAT_FIELD, (_all, field: string) => `'${param(field)}'`);
  return { message, type: o.type, param: param(o.param), code: o.code === null ? null : (RESPONSES_CODE[o.code] ?? o.code) };
}

export function renderResponsesError(err: GatewayError): string {
  return JSON.stringify({ error: responsesError(err) });
}

/** The in-stream error event, `sequence` being its position in the stream. Its code is never null: the type stands in. */
export function errorEvent(err: GatewayError, sequence: number): string {
  const e = responsesError(err);
  const code = e.code ?? (RESPONSES_CODE[e.type] ?? e.type);
  return `event: error\ndata: {"type":"error","code":${JSON.stringify(code)},"message":${JSON.stringify(e.message)},"param":${JSON.stringify(e.param)},"sequence_number":${sequence}}\n\n`;
}

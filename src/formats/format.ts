// The provider seam: what a wire format does for the gateway, in two small roles.
//
//   Dialect  the client's side: check a request for routing, turn it into the canonical shape when
//            its provider speaks another format, and render answers, stream events and errors back.
//   Codec    the provider's side: build its request from the canonical shape, read its answers,
//            stream events and errors back into canonical ones; flags say what it can serve.
//
// Both are pure: no I/O, no clock. Stream state is explicit (a decoder or encoder object per stream).
// When the client's dialect and the provider's codec are the same format, neither translates: the
// request is relayed as the client's bytes and the answer as the provider's (upstream/attempt.ts), and
// only the pass-through helpers below (completeness, usage) read it.
import type { GatewayError } from '../errors/gateway-error.ts';
import type { Redactor } from '../util/redact.ts';
import type { CanonicalEmbeddings, CanonicalEmbeddingsRequest, CanonicalField, CanonicalRequest, CanonicalResponse, EndpointName, StreamEvent } from './canonical.ts';

/** Wire formats: the first two are also client dialects; Gemini and Bedrock are spoken to providers only. */
export type FormatName = 'openai' | 'anthropic' | 'gemini' | 'bedrock';

/** What a codec must know of the provider beyond its format (config/provider-kinds.ts deviations). */
export interface ProviderOptions {
  /** Assistant tool turns carry their thinking back as `reasoning_content` (DeepSeek's thinking mode). */
  readonly reasoningOnToolTurns?: boolean;
}
/** The dialects clients speak: OpenAI's chat family, Anthropic's Messages, and OpenAI's Responses API. */
export type DialectName = 'openai' | 'anthropic' | 'responses';

/** What routing needs of a client's request. */
export interface ClientRequest {
  model: string;
  stream: boolean;
}

/** Canonical stream events → the client's SSE bytes. One per stream. */
export interface StreamEncoder {
  /** The bytes for one event ('' when it produces none, a ping say). */
  encode(e: StreamEvent): string;
  /** The in-band error event that ends this stream, when it depends on the stream so far (the Responses API numbers its events). */
  error?(err: GatewayError): string;
}

/** A provider's SSE events → canonical ones. One per attempt. Encoders throw a GatewayError for input they cannot carry. */
export interface StreamDecoder {
  /** `event` is the SSE event name ('' when absent; a Bedrock event's type), `data` its data lines joined. */
  decode(event: string, data: string, out: StreamEvent[]): void;
  /** The provider's stream ended: a format without an end marker (Gemini) says here whether it was complete. */
  end?(out: StreamEvent[]): void;
}

export interface Dialect {
  readonly format: DialectName;
  /** Validates what routing needs, by this format's rules; throws a GatewayError (400) otherwise. */
  check(body: Record<string, unknown>, endpoint: EndpointName): ClientRequest;
  /** The request in canonical form, for a provider of another format; throws a 400 for what has no mapping. */
  toCanonical(body: Record<string, unknown>, endpoint: EndpointName): CanonicalRequest;
  /** The client's name for a canonical field a codec left out (x-microgate-dropped). */
  fieldName(field: CanonicalField): string;
  /** `client`: the client's request as it sent it (the Responses API echoes its fields in the answer). */
  renderResponse(r: CanonicalResponse, client?: Readonly<Record<string, unknown>>): string;
  streamEncoder(req: CanonicalRequest, client?: Readonly<Record<string, unknown>>): StreamEncoder;
  /** The HTTP status of an error for a client of this format (Anthropic's 529 is a 503 to OpenAI clients). */
  status(err: GatewayError): number;
  /** An error body in this format. */
  renderError(err: GatewayError): string;
  /** The in-band error event that ends a started stream. */
  renderStreamError(err: GatewayError): string;
  /** Embeddings, for a provider of another format (only the OpenAI dialect has an embeddings route). */
  embeddingsToCanonical?(body: Record<string, unknown>): CanonicalEmbeddingsRequest;
  renderEmbeddings?(e: CanonicalEmbeddings, req: CanonicalEmbeddingsRequest): string;
  /** A token count (count_tokens: only the Anthropic dialect has the route). */
  renderTokenCount?(inputTokens: number): string;
}

/** What a provider's error must be told apart by, and the gateway's secrets, for `Codec.errorFrom`. */
export interface ErrorSource {
  readonly provider: string;
  readonly key: string;
  readonly redactor: Redactor;
  /** The body was not read to its end. */
  readonly cut: boolean;
  /** The response's headers (lower-case names): Bedrock names its error type in x-amzn-errortype. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>> | null;
}

export type StreamEnd = 'complete' | 'error' | 'cut';

/** Token counts found in relayed bytes; -1 while unknown. */
export interface UsageSink {
  /** All input, cache reads and writes included. */
  promptTokens: number;
  completionTokens: number;
  /** Of promptTokens, read from and written to the provider's prompt cache (priced apart). */
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

export interface Codec {
  readonly format: FormatName;
  /** Capability flags: the request kinds this format serves (absent: it does not). */
  readonly serves: Readonly<Partial<Record<EndpointName, boolean>>>;
  /** How its streams are framed: server-sent events, or AWS's binary event stream (Bedrock). */
  readonly framing: 'sse' | 'aws-eventstream';
  /**
   * The provider's request body for `model`. What the client asked for and this body leaves out (a
   * value the provider refuses for this model, a field it has no place for) is pushed onto `dropped`.
   */
  fromCanonical(req: CanonicalRequest, model: string, dropped?: CanonicalField[], opts?: ProviderOptions): string;
  /** Throws a GatewayError (upstream_bad_response) when the body is not this format's answer. */
  toCanonicalResponse(body: Buffer): CanonicalResponse;
  /** `req` when translating; a relayed stream is read without one (upstream/first-content.ts). */
  streamDecoder(req?: CanonicalRequest): StreamDecoder;
  errorFrom(status: number, body: Buffer, src: ErrorSource): GatewayError;
  /**
   * Pass-through: how the relayed stream ended, from its last event (`tail`: the last bytes of the
   * last whole event): as this format's streams end, with the provider's own error event, or cut.
   */
  streamEnd(tail: string): StreamEnd;
  /**
   * Pass-through: whether a batch of relayed events holds the provider's own error event, wherever it
   * is (an end marker may follow it). Asked only of batches that contain the word "error".
   */
  inBandError?(events: string): boolean;
  /** Pass-through: reads usage from relayed bytes (an answer, or a batch of stream events). */
  scanUsage(bytes: Buffer, into: UsageSink): void;
  /** Pass-through: the relayed events without the usage chunk the gateway asked for and the client did not. */
  hideUsage?(events: Buffer): Buffer;
  /** Embeddings (serves.embeddings): the provider's request body, and its answer read back. */
  embeddingsFromCanonical?(req: CanonicalEmbeddingsRequest, model: string): string;
  embeddingsToCanonical?(body: Buffer, req: CanonicalEmbeddingsRequest): CanonicalEmbeddings;
  /**
   * count_tokens (serves.count_tokens) for a client of another format: the provider's counting request
   * for the canonical request, and the input token count read from its answer (throws a GatewayError,
   * upstream_bad_response, when there is none). A provider of the client's format is relayed instead.
   */
  countTokensFromCanonical?(req: CanonicalRequest, model: string): string;
  tokenCountOf?(body: Buffer): number;
}

/** A format spoken both ways: a client dialect and a provider codec. */
export interface WireFormat {
  readonly dialect: Dialect;
  readonly codec: Codec;
}

// The wire formats microgate speaks, by name. A provider's `type` picks its codec at load (the
// OpenAI-compatible presets and Azure use OpenAI's); the route picks a client's dialect
// (/v1/messages is Anthropic's, the rest OpenAI's). Gemini and Bedrock have codecs only: no client
// speaks them to the gateway.
import { ANTHROPIC } from './anthropic/index.ts';
import { bedrockCodec } from './bedrock/index.ts';
import type { Codec, FormatName, WireFormat } from './format.ts';
import { geminiCodec } from './gemini/index.ts';
import { OPENAI } from './openai/index.ts';

/** The formats spoken both ways. (The Responses API is a dialect only: formats/responses/.) */
export const FORMATS: Readonly<Record<'openai' | 'anthropic', WireFormat>> = { openai: OPENAI, anthropic: ANTHROPIC };

export const CODECS: Readonly<Record<FormatName, Codec>> = { openai: OPENAI.codec, anthropic: ANTHROPIC.codec, gemini: geminiCodec, bedrock: bedrockCodec };

// The audio routes (OpenAI API reference, "Audio"; openai-node src/resources/audio/*.ts):
//   POST /v1/audio/transcriptions, /v1/audio/translations — multipart/form-data (multipart.ts reads it as it
//     streams in; the file is counted, not kept) with `file` and `model` required (400 otherwise), `model` counted
//     in byModel; a file over 25 MiB → 413. The text is "[name] mock transcript of N bytes" ("translation" for
//     translations), N the uploaded file's size, so a test can prove the whole file arrived. response_format:
//     json (default) {text, usage:{type:"duration", seconds}}, text (plain), verbose_json {task, language, duration,
//     text, segments, usage; words with timestamp_granularities[]=word}, srt, vtt. stream=true is not mocked: 400.
//   POST /v1/audio/speech — JSON {model, input (≤ 4096 chars), voice} → audio bytes (about 100 B per input
//     character, 2–16 KiB): silent MPEG frames for mp3 (audio/mpeg, the default), a WAV header and silence for wav,
//     silence for pcm, the format's magic and silence for opus / aac / flac; written as streamChunks chunks with
//     chunkDelayMs between them, stallAfterChunks / disconnectAfterChunks honoured, malformedRate ending the body
//     halfway. stream_format "sse" sends speech.audio.delta events (base64 audio) then speech.audio.done with usage.
// All three take the shared gate first (gate.ts: latency, key, status / errorRate / resets / timeouts).

import type { Behavior } from './config.ts';
import type { Exchange } from './exchange.ts';
import { streamStop } from './flow.ts';
import { halve, invalidRequest, rollFault } from './gate.ts';
import type { SurfaceHost } from './gate.ts';
import { field } from './multipart.ts';
import type { Form, FormError } from './multipart.ts';
import type { Json } from './responses-input.ts';
import { bump } from './stats.ts';

export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
const TEXT_FORMATS = new Set(['json', 'text', 'verbose_json', 'srt', 'vtt']);
const PLAIN = 'text/plain; charset=utf-8';

export type AudioTask = 'transcribe' | 'translate';

/** Seconds of audio the upload stands for, as if it were 128 kbit/s MP3. */
const duration = (bytes: number): number => Math.max(0.1, Math.round(bytes / 160) / 100);

function stamp(sec: number, sep: ',' | '.'): string {
  const ms = Math.round(sec * 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(Math.floor(ms / 3600000))}:${pad(Math.floor(ms / 60000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}${sep}${pad(ms % 1000, 3)}`;
}

function transcriptBody(task: AudioTask, format: string, text: string, seconds: number, words: boolean): { type: string; body: string } {
  switch (format) {
    case 'text':
      return { type: PLAIN, body: `${text}\n` };
    case 'srt':
      return { type: PLAIN, body: `1\n${stamp(0, ',')} --> ${stamp(seconds, ',')}\n${text}\n\n` };
    case 'vtt':
      return { type: PLAIN, body: `WEBVTT\n\n${stamp(0, '.')} --> ${stamp(seconds, '.')}\n${text}\n\n` };
    case 'verbose_json': {
      const segment = { id: 0, seek: 0, start: 0, end: seconds, text, tokens: [50364, 50365], temperature: 0, avg_logprob: -0.2, compression_ratio: 1.1, no_speech_prob: 0.01 };
      const out: Json = { task, language: 'english', duration: seconds, text, segments: [segment], usage: { type: 'duration', seconds: Math.ceil(seconds) } };
      if (words) {
        const list = text.split(' ');
        const step = seconds / list.length;
        out.words = list.map((word, i) => ({ word, start: Math.round(i * step * 100) / 100, end: Math.round((i + 1) * step * 100) / 100 }));
      }
      return { type: 'application/json', body: JSON.stringify(out) };
    }
    default:
      return { type: 'application/json', body: JSON.stringify({ text, usage: { type: 'duration', seconds: Math.ceil(seconds) } }) };
  }
}

export function respondTranscription(host: SurfaceHost, ex: Exchange, b: Behavior, task: AudioTask, form: Form | FormError): void {
  if ('status' in form) return ex.json(form.status, invalidRequest(form.message, form.code, form.param));
  const model = field(form, 'model');
  if (model === undefined || model === '') return ex.json(400, invalidRequest("Missing required parameter: 'model'.", 'missing_required_parameter', 'model'));
  bump(host.counters.byModel, model);
  const file = form.file;
  if (file === null) return ex.json(400, invalidRequest("Missing required parameter: 'file'.", 'missing_required_parameter', 'file'));
  const format = field(form, 'response_format') ?? 'json';
  if (!TEXT_FORMATS.has(format)) {
    return ex.json(400, invalidRequest(`Invalid value: '${format}'. Supported values are: 'json', 'text', 'srt', 'verbose_json', and 'vtt'.`, 'invalid_value', 'response_format'));
  }
  if (field(form, 'stream') === 'true') return ex.json(400, invalidRequest('Streaming transcription is not supported by the mock.', 'unsupported_value', 'stream'));

  const malformed = rollFault(host, ex, b);
  if (malformed === null) return;
  const text = `[${host.plan.texts.name}] mock ${task === 'transcribe' ? 'transcript' : 'translation'} of ${file.bytes} bytes`;
  const words = form.fields.get('timestamp_granularities[]')?.includes('word') ?? false;
  const out = transcriptBody(task, format, text, duration(file.bytes), words);
  ex.send(200, out.type, malformed ? halve(out.body) : out.body);
}

const SPEECH_TYPES: Record<string, string> = { mp3: 'audio/mpeg', opus: 'audio/opus', aac: 'audio/aac', flac: 'audio/flac', wav: 'audio/wav', pcm: 'audio/pcm' };
/** MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, mono: 417-byte frames; all-zero side info decodes as silence. */
const MP3_FRAME = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0xc0]), Buffer.alloc(413)]);

function wavHeader(dataBytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'latin1');
  h.writeUInt32LE(36 + dataBytes, 4);
  h.write('WAVEfmt ', 8, 'latin1');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(24000, 24);
  h.writeUInt32LE(48000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'latin1');
  h.writeUInt32LE(dataBytes, 40);
  return h;
}

const MAGIC: Record<string, Buffer> = { opus: Buffer.from('OggS\0\x02', 'latin1'), aac: Buffer.from([0xff, 0xf1, 0x50, 0x80]), flac: Buffer.from('fLaC', 'latin1') };

export function speechAudio(format: string, size: number): Buffer {
  if (format === 'mp3') return Buffer.concat(Array.from({ length: Math.ceil(size / MP3_FRAME.length) }, () => MP3_FRAME));
  if (format === 'wav') return Buffer.concat([wavHeader(size - 44), Buffer.alloc(size - 44)]);
  if (format === 'pcm') return Buffer.alloc(size);
  return Buffer.concat([MAGIC[format]!, Buffer.alloc(size - MAGIC[format]!.length)]);
}

/** `bytes` in `n` nearly equal slices (at least one). */
function slices(bytes: Buffer, n: number): Buffer[] {
  const size = Math.ceil(bytes.length / Math.max(1, n));
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

export function respondSpeech(host: SurfaceHost, ex: Exchange, b: Behavior, body: Json): void {
  if (typeof body.model !== 'string' || body.model === '') return ex.json(400, invalidRequest("Missing required parameter: 'model'.", 'missing_required_parameter', 'model'));
  bump(host.counters.byModel, body.model);
  const input = body.input;
  if (typeof input !== 'string' || input === '') return ex.json(400, invalidRequest("Missing required parameter: 'input'.", 'missing_required_parameter', 'input'));
  if (input.length > 4096) return ex.json(400, invalidRequest("Invalid 'input': string too long. Expected a string with maximum length 4096.", 'string_above_max_length', 'input'));
  if (body.voice === undefined || body.voice === null || body.voice === '') return ex.json(400, invalidRequest("Missing required parameter: 'voice'.", 'missing_required_parameter', 'voice'));
  const format = body.response_format ?? 'mp3';
  if (typeof format !== 'string' || SPEECH_TYPES[format] === undefined) {
    return ex.json(400, invalidRequest(`Invalid value: '${String(format)}'. Supported values are: 'mp3', 'opus', 'aac', 'flac', 'wav', and 'pcm'.`, 'invalid_value', 'response_format'));
  }
  const sse = body.stream_format === 'sse';
  if (body.stream_format !== undefined && body.stream_format !== 'audio' && !sse) {
    return ex.json(400, invalidRequest(`Invalid value: '${String(body.stream_format)}'. Supported values are: 'sse' and 'audio'.`, 'invalid_value', 'stream_format'));
  }

  const malformed = rollFault(host, ex, b);
  if (malformed === null) return;
  const audio = speechAudio(format, Math.min(16384, Math.max(2048, input.length * 100)));
  let chunks: Array<string | Buffer> = slices(audio, b.streamChunks);
  const content = chunks.length;
  if (sse) {
    const tokens = Math.ceil(input.length / 4);
    chunks = chunks.map((c) => `data: ${JSON.stringify({ type: 'speech.audio.delta', audio: c.toString('base64') })}\n\n`);
    chunks.push(`data: ${JSON.stringify({ type: 'speech.audio.done', usage: { input_tokens: tokens, output_tokens: content * 10, total_tokens: tokens + content * 10 } })}\n\n`);
  }
  const type = sse ? 'text/event-stream' : SPEECH_TYPES[format]!;
  if (malformed) {
    // Half the audio, or the first SSE event cut mid-JSON, behind a 200 that ends normally.
    const broken = sse ? [halve(chunks[0] as string) + '\n\n'] : [halve(audio)];
    return ex.stream(broken, 1, 'truncate', 0, 0, 1, undefined, type);
  }
  const stop = streamStop(b, 0, chunks.length, content);
  ex.stream(chunks, stop.limit, stop.end, b.chunkDelayMs, 0, content, undefined, type);
}

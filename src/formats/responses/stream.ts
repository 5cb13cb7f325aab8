// Canonical stream events → Responses SSE events (`event: <type>` + `data: <json>`, numbered by
// `sequence_number` from 0, no [DONE]), in the order of test/fixtures/conformance/responses/README.md
// "Streams", which openai-node 6.49's ResponseStream and its accumulator accept:
//
//   response.created, response.in_progress            at the provider's first event (its model);
//   per text item:      output_item.added, content_part.added, output_text.delta…, output_text.done,
//                       content_part.done, output_item.done;
//   per refusal:       the same with a refusal part: refusal.delta…, refusal.done;
//   per function call:  output_item.added, function_call_arguments.delta…, …arguments.done, output_item.done;
//   per thinking block: output_item.added, reasoning_summary_part.added, reasoning_summary_text.delta…,
//                       …text.done, …part.done, output_item.done with the signature as encrypted_content;
//   response.completed, or response.incomplete, with the whole Response and its usage.
//
// An item closes when the next one opens, when its thinking is signed, or at the finish, which says
// whether the last item is `incomplete`. The canonical stream already holds the finish until the
// provider's end (the chat usage chunk, Anthropic's message_delta), so no event has to wait here.
// Arguments are streamed and finished verbatim (README decision 15), "{}" when there were none. One
// encoder per stream; state in fields, strings built directly.
import { GatewayError } from '../../errors/gateway-error.ts';
import type { CanonicalRequest, StopReason, StreamEvent, Usage } from '../canonical.ts';
import type { StreamEncoder } from '../format.ts';
import { REDACTED_PREFIX } from './input.ts';
import { echoOf, envelope, functionCallItem, idToken, incompleteOf, messageItem, outputText, reasoningItem, summaryText, type Echo } from './envelope.ts';
import { errorEvent } from './errors.ts';

/** The kind of output item in progress. */
type Open = 'none' | 'message' | 'refusal' | 'call' | 'reasoning';

export class ResponsesStreamEncoder implements StreamEncoder {
  private seq = 0;
  private started = false;
  private finished = false;
  private readonly echo: Echo;
  private readonly created: number;
  private token = '';
  /** The provider's model, as JSON. */
  private model = '""';
  /** The whole JSON of every closed item, for the terminal Response. */
  private readonly output: string[] = [];
  private open: Open = 'none';
  private itemId = '';
  /** `"item_id":"…","output_index":n` of the open item: every event about it repeats it. */
  private at = '';
  /** The open item's text, arguments or thinking so far. */
  private text = '';
  /** The open call's call_id and name (JSON), and its canonical tool index. */
  private callId = '';
  private name = '';
  private tool = -1;
  /** The open reasoning item has a summary part (it began with thinking text, not a bare signature). */
  private summary = false;
  private signature = '';
  private stop: StopReason = 'end_turn';
  private usage: Usage | null = null;

  constructor(_req: CanonicalRequest, client: Readonly<Record<string, unknown>> | undefined, created: number) {
    this.echo = echoOf(client);
    this.created = created;
  }

  /** One event: `body` is its members after "type" and before "sequence_number". */
  private ev(type: string, body: string): string {
    return `event: ${type}\ndata: {"type":"${type}",${body},"sequence_number":${this.seq++}}\n\n`;
  }

  private begin(id: string, model: string): string {
    this.started = true;
    this.token = idToken(id, this.created);
    this.model = JSON.stringify(model);
    const snapshot = `"response":${envelope(this.token, this.created, 'in_progress', null, this.model, this.echo, '', null)}`;
    return this.ev('response.created', snapshot) + this.ev('response.in_progress', snapshot);
  }

  /** Opens an item at the next output index; `prefix` is its id's (msg, fc, rs). */
  private openItem(kind: Open, prefix: string): number {
    const index = this.output.length;
    this.open = kind;
    this.itemId = `${prefix}_${this.token}_${index}`;
    this.at = `"item_id":"${this.itemId}","output_index":${index}`;
    this.text = '';
    return index;
  }

  private added(index: number, item: string): string {
    return this.ev('response.output_item.added', `"output_index":${index},"item":${item}`);
  }

  private done(item: string): string {
    const out = this.ev('response.output_item.done', `"output_index":${this.output.length},"item":${item}`);
    this.output.push(item);
    this.open = 'none';
    return out;
  }

  /** Closes the open item, if any, with the status it ends with. */
  private close(status: string): string {
    switch (this.open) {
      case 'none':
        return '';
      case 'message': {
        const text = JSON.stringify(this.text);
        const part = outputText(text);
        const at = `${this.at},"content_index":0`;
        return (
          this.ev('response.output_text.done', `${at},"text":${text},"logprobs":[]`) +
          this.ev('response.content_part.done', `${at},"part":${part}`) +
          this.done(messageItem(this.itemId, status, part))
        );
      }
      case 'refusal': {
        const text = JSON.stringify(this.text);
        const part = `{"type":"refusal","refusal":${text}}`;
        const at = `${this.at},"content_index":0`;
        return (
          this.ev('response.refusal.done', `${at},"refusal":${text}`) +
          this.ev('response.content_part.done', `${at},"part":${part}`) +
          this.done(messageItem(this.itemId, status, part))
        );
      }
      case 'call': {
        const args = JSON.stringify(this.text === '' ? '{}' : this.text);
        return this.ev('response.function_call_arguments.done', `${this.at},"name":${this.name},"arguments":${args}`) + this.done(functionCallItem(this.itemId, status, this.callId, this.name, args));
      }
      case 'reasoning': {
        const encrypted = this.signature === '' ? 'null' : JSON.stringify(this.signature);
        if (!this.summary) return this.done(reasoningItem(this.itemId, '', encrypted));
        const text = JSON.stringify(this.text);
        const part = summaryText(text);
        return (
          this.ev('response.reasoning_summary_text.done', `${this.at},"summary_index":0,"text":${text}`) +
          this.ev('response.reasoning_summary_part.done', `${this.at},"summary_index":0,"part":${part}`) +
          this.done(reasoningItem(this.itemId, part, encrypted))
        );
      }
    }
  }

  /** Opens a message item whose one part is `part` (empty), unless one of that kind is open; adds `text` to it. */
  private message(kind: 'message' | 'refusal', part: string, text: string): string {
    let out = '';
    if (this.open !== kind) {
      out = this.close('completed');
      const index = this.openItem(kind, 'msg');
      out +=
        this.added(index, `{"id":"${this.itemId}","type":"message","status":"in_progress","role":"assistant","content":[]}`) +
        this.ev('response.content_part.added', `${this.at},"content_index":0,"part":${part}`);
    }
    this.text += text;
    return out;
  }

  private openReasoning(withSummary: boolean): string {
    const out = this.close('completed');
    const index = this.openItem('reasoning', 'rs');
    this.summary = withSummary;
    this.signature = '';
    const added = this.added(index, `{"id":"${this.itemId}","type":"reasoning","summary":[]}`);
    return out + (withSummary ? added + this.ev('response.reasoning_summary_part.added', `${this.at},"summary_index":0,"part":{"type":"summary_text","text":""}`) : added);
  }

  private args(fragment: string): string {
    if (fragment === '') return '';
    // A first fragment "{}" is a zero-argument call's whole arguments (Anthropic's decoder writes it
    // at a content_block_stop that had no input_json_delta): the done event carries it (fixture
    // zero-arg-tool-use-gets-empty-object-arguments).
    if (this.text === '' && fragment === '{}') {
      this.text = fragment;
      return '';
    }
    this.text += fragment;
    return this.ev('response.function_call_arguments.delta', `${this.at},"delta":${JSON.stringify(fragment)}`);
  }

  encode(e: StreamEvent): string {
    if (e.type === 'start') {
      if (e.usage !== null) this.usage = e.usage;
      return this.started ? '' : this.begin(e.id, e.model);
    }
    // A provider that sends no start of its own still gets the response opened.
    const head = this.started || e.type === 'error' ? '' : this.begin('', '');
    switch (e.type) {
      case 'text':
        if (e.text === '') return head;
        return head + this.message('message', '{"type":"output_text","text":"","annotations":[]}', e.text) + this.ev('response.output_text.delta', `${this.at},"content_index":0,"delta":${JSON.stringify(e.text)},"logprobs":[]`);
      case 'refusal':
        // A message item of its own whose part is the refusal, as in an answer (response.ts).
        if (e.text === '') return head;
        return head + this.message('refusal', '{"type":"refusal","refusal":""}', e.text) + this.ev('response.refusal.delta', `${this.at},"content_index":0,"delta":${JSON.stringify(e.text)}`);
      case 'thinking': {
        if (e.text === '') return head;
        const out = head + (this.open === 'reasoning' && this.summary ? '' : this.openReasoning(true));
        this.text += e.text;
        return out + this.ev('response.reasoning_summary_text.delta', `${this.at},"summary_index":0,"delta":${JSON.stringify(e.text)}`);
      }
      case 'signature': {
        // The signature ends its thinking block; a bare one (signature-only thinking) is an item too.
        const out = head + (this.open === 'reasoning' ? '' : this.openReasoning(false));
        this.signature = e.signature;
        return out + this.close('completed');
      }
      case 'redacted_thinking': {
        const out = head + this.close('completed');
        const index = this.openItem('reasoning', 'rs');
        return out + this.added(index, `{"id":"${this.itemId}","type":"reasoning","summary":[]}`) + this.done(reasoningItem(this.itemId, '', JSON.stringify(REDACTED_PREFIX + e.data)));
      }
      case 'tool_start': {
        const out = head + this.close('completed');
        const index = this.openItem('call', 'fc');
        this.callId = JSON.stringify(e.id);
        this.name = JSON.stringify(e.name);
        this.tool = e.index;
        const added = this.added(index, `{"id":"${this.itemId}","type":"function_call","status":"in_progress","call_id":${this.callId},"name":${this.name},"arguments":""}`);
        return out + added + (e.args === undefined ? '' : this.args(e.args));
      }
      case 'tool_args':
        // Items cannot reopen once done: arguments for a call that is no longer the open item have
        // nowhere to go. OpenAI streams finish one call before the next; a provider that interleaves
        // fails here, loudly, rather than losing arguments (as the Anthropic encoder does).
        if (this.open !== 'call' || this.tool !== e.index) {
          throw new GatewayError('upstream_bad_response', 'The provider interleaved the arguments of several tool calls, which a Responses stream cannot carry.');
        }
        return head + this.args(e.fragment);
      case 'finish':
        this.stop = e.stopReason;
        this.finished = true;
        return head + this.close(incompleteOf(e.stopReason) === null ? 'completed' : 'incomplete');
      case 'usage':
        this.usage = e.usage;
        return head;
      case 'end': {
        // A stream that ended without a finish ended its turn.
        const out = head + (this.finished ? '' : this.close('completed'));
        const incomplete = incompleteOf(this.stop);
        const type = incomplete === null ? 'response.completed' : 'response.incomplete';
        const response = envelope(this.token, this.created, incomplete === null ? 'completed' : 'incomplete', incomplete, this.model, this.echo, this.output.join(','), this.usage);
        return out + this.ev(type, `"response":${response}`);
      }
      case 'error':
        // Rendered by the gateway's error boundary: error() below, or the dialect's renderStreamError.
        return '';
    }
  }

  /** The in-stream error event that ends this stream, numbered after the events already sent. */
  error(err: GatewayError): string {
    return errorEvent(err, this.seq++);
  }
}

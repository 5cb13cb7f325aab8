// A relayed stream (the client's format is the provider's) before it is committed to the client, after
// which no failover is possible: events that carry no part of the answer yet are held back (OpenAI's
// role-only first chunk, Anthropic's message_start and pings), so a provider that fails right after
// them is failed over like one that failed before its first byte. Anthropic's overloaded_error comes
// just after message_start (peers.md: LiteLLM #5512, a 200 with the error inside); an OpenAI-format
// provider may send its error as the first event (OpenRouter). Read with the provider's own stream
// decoder, only until the answer starts: most streams commit on their first or second event.
import type { StreamEvent } from '../formats/canonical.ts';
import type { StreamDecoder } from '../formats/format.ts';
import { forEachEvent } from '../formats/sse.ts';
import { carriesAnswer } from '../formats/stream-translation.ts';

/** hold: nothing of the answer yet; commit: relay what is held and this; error: the provider failed first. */
export type FirstContentVerdict = 'hold' | 'commit' | 'error';

export class FirstContent {
  /** The provider's error, when it came before any part of the answer. */
  error: { errorType: string; message: string } | null = null;
  private readonly events: StreamEvent[] = [];
  private readonly take: (event: string, data: string) => void;

  constructor(decoder: StreamDecoder) {
    this.take = (event, data) => decoder.decode(event, data, this.events);
  }

  /** What to do with a batch of the provider's whole events. */
  push(text: string): FirstContentVerdict {
    const events = this.events;
    events.length = 0;
    try {
      forEachEvent(text, this.take);
    } catch {
      // An event its decoder cannot read: relayed as it always was, for the client to judge.
      return 'commit';
    }
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      if (e.type === 'error') {
        this.error = { errorType: e.errorType, message: e.message };
        return 'error';
      }
      if (carriesAnswer(e)) return 'commit';
    }
    return 'hold';
  }
}

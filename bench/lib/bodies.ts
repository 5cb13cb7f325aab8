import { mulberry32 } from '../../src/util/prng.ts';

// Realistic chat requests for the load: a system prompt and a user message, 1–4 KB per body,
// deterministic (seeded) so every run and every target sends the same bytes. `max_tokens` varies so
// the mock's answers span 0.5–10 KB (the mock answers with about 4 bytes per requested token).
const WORDS = 'the a gateway request provider model latency stream token budget route fallback error retry key cache prompt answer user system function code review design trade-off explain summarize translate compare'.split(' ');

function text(r: () => number, bytes: number): string {
  const out: string[] = [];
  let n = 0;
  while (n < bytes) {
    const w = WORDS[Math.floor(r() * WORDS.length)]!;
    out.push(w);
    n += w.length + 1;
  }
  return out.join(' ');
}

export function chatBodies(model: string, count: number, stream: boolean, seed = 42): string[] {
  const r = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const size = 1024 + Math.floor(r() * 3072);
    const system = text(r, 200);
    const body: Record<string, unknown> = {
      model,
      messages: [
        { role: 'system', content: system },
        { role: 'user', content: text(r, size - system.length - 120) },
      ],
      max_tokens: 125 + Math.floor(r() * 2375),
      temperature: 0.7,
    };
    if (stream) {
      body.stream = true;
      body.stream_options = { include_usage: true };
    }
    return JSON.stringify(body);
  });
}

// Provider keys must never reach a client, a log line or an error. Provider error bodies can echo a
// key back (OpenAI's 401 says "Incorrect API key provided: sk-abc***xyz"), so every upstream message
// passes through here before it leaves the gateway.

/** Shapes of well-known provider secrets: OpenAI/Anthropic/OpenRouter `sk-…`, Groq `gsk_…`, xAI `xai-…`, Google `AIza…`. */
const KEY_SHAPES = /\b(?:sk|gsk|xai|pk|rk)[-_][A-Za-z0-9_*\-]{6,}|\bAIza[A-Za-z0-9_\-]{20,}/g;

export class Redactor {
  private readonly secrets: readonly string[];

  constructor(secrets: Iterable<string>) {
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...new Set(secrets)].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  }

  /** The secrets, for a redactor in another thread (the telemetry worker). */
  secretValues(): string[] {
    return [...this.secrets];
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    return out.replace(KEY_SHAPES, '[redacted]');
  }
}

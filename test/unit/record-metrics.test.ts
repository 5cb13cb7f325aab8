// The Prometheus series made from request records (telemetry/metrics.ts).
import { describe, expect, it } from 'vitest';
import { RecordMetrics } from '../../src/telemetry/metrics.ts';
import type { TelemetryRecord } from '../../src/telemetry/types.ts';

function record(endpoint: string, latencyUs: number): TelemetryRecord {
  return {
    id: 'r',
    start: 1_700_000_000_000,
    endpoint,
    dialect: 'anthropic',
    requestedModel: 'claude',
    status: 200,
    error: '',
    stream: false,
    streamFailed: false,
    aborted: false,
    totalUs: latencyUs + 100,
    gatewayUs: 100,
    upstreamUs: latencyUs,
    ttfbUs: 0,
    rule: '',
    matched: [],
    tags: [],
    tier: '',
    attempts: [{ target: 'claude/claude-test', provider: 'claude', model: 'claude-test', key: 'k', status: 200, flag: '', latencyUs }],
    promptTokens: endpoint === 'count_tokens' ? 0 : 10,
    completionTokens: endpoint === 'count_tokens' ? 0 : 5,
    cost: 0,
    tenant: { virtualKey: '', team: '', customer: '' },
  };
}

describe('RecordMetrics', () => {
  it("a token count is a request and an attempt, but not a sample of the provider's latency", () => {
    const m = new RecordMetrics();
    m.add(record('chat', 2_000_000));
    for (let i = 0; i < 5; i++) m.add(record('count_tokens', 20_000));
    const text = m.registry.render();
    expect(text).toContain('microgate_requests_total{provider="claude",model="claude-test",status="200"} 6\n');
    expect(text).toContain('microgate_upstream_attempts_total{provider="claude",model="claude-test",result="200"} 6\n');
    expect(text).toContain('microgate_upstream_latency_seconds_count{provider="claude",model="claude-test"} 1\n');
    expect(text).toContain('microgate_tokens_total{provider="claude",model="claude-test",direction="input"} 10\n');
  });
});

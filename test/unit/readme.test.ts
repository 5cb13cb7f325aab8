// The README's configuration examples are part of the product: each must load as written. The full
// example is validated and compiled as is; the fragments (rules:, telemetry:) are validated on top of it.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { validateConfig } from '../../src/config/load.ts';
import { compilePlan } from '../../src/config/compile.ts';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => parse(m[1]!) as Record<string, unknown>);
// Every env.NAME the examples read, set to a recognisable placeholder.
const env = Object.fromEntries([...readme.matchAll(/env\.([A-Z0-9_]+)/g)].map((m) => [m[1]!, `placeholder-${m[1]!.toLowerCase()}-0123456789`]));

describe('README configuration examples', () => {
  it('has the full example and its fragments', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
    expect(blocks[0]!.version).toBe(1);
  });

  it('the full example loads and compiles as written', async () => {
    const config = validateConfig(blocks[0], env, 'README');
    expect(Object.keys(config.providers)).toEqual(expect.arrayContaining(['openai', 'anthropic', 'gemini', 'bedrock', 'azure']));
    expect(config.providers.bedrock!.baseUrl).toBe('https://bedrock-runtime.eu-west-1.amazonaws.com');
    const plan = compilePlan(config);
    try {
      expect(plan.providers.get('azure')!.endpoint.path('chat', 'gpt-4o', false)).toBe('/openai/deployments/my-gpt4o-deployment/chat/completions?api-version=2024-10-21');
    } finally {
      await plan.close();
    }
  });

  it('each fragment loads on top of the full example', () => {
    for (const fragment of blocks.slice(1)) expect(() => validateConfig({ ...blocks[0], ...fragment }, env, 'README')).not.toThrow();
  });
});

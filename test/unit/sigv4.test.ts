// SigV4 for Bedrock: the signer (aws4) against AWS's published test-suite vectors, and the Bedrock
// endpoint's use of it: the model id URI-encoded twice in the signed canonical request, every
// attempt signed over its own bytes, temporary credentials' token signed, a Bedrock API key sent as a
// bearer token instead. (The Bedrock mock verifies signatures with @smithy/signature-v4, another
// implementation, in the integration tests.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import aws4 from 'aws4';
import { bedrockEndpoint } from '../../src/endpoints/bedrock.ts';

const EXAMPLE = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const SCOPE = 'Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=';

afterEach(() => vi.useRealTimers());

describe("aws4 against AWS's SigV4 test suite (aws-sig-v4-test-suite, 2015-08-30T12:36:00Z)", () => {
  it.each([
    ['get-vanilla', 'GET', '/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
    ['get-vanilla-query-order-key-case', 'GET', '/?Param2=value2&Param1=value1', 'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500'],
    ['post-vanilla', 'POST', '/', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
  ])('%s', (_name, method, path, signature) => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2015-08-30T12:36:00Z'));
    const request = { host: 'example.amazonaws.com', path, method, service: 'service', region: 'us-east-1', headers: {} };
    aws4.sign(request, EXAMPLE);
    expect((request.headers as Record<string, string>).Authorization).toBe(`AWS4-HMAC-SHA256 ${SCOPE}${signature}`);
  });
});

describe('the Bedrock endpoint', () => {
  const endpoint = bedrockEndpoint({ url: new URL('https://bedrock-runtime.us-west-2.amazonaws.com'), region: 'us-west-2', apiVersion: null, deployments: {} });
  const creds = { value: null, aws: { ...EXAMPLE, sessionToken: 'TOKEN-1' } };
  const model = 'anthropic.claude-3-5-sonnet-20240620-v1:0';

  it('puts the model id in the path, URI-encoded once', () => {
    expect(endpoint.path('chat', model, false)).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(endpoint.path('chat', model, true)).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
  });

  it('signs the canonical path encoded twice (":" → %3A → %253A), the body, the token; and every attempt anew', () => {
    const path = endpoint.path('chat', model, false);
    const body = Buffer.from('{"messages":[]}');
    const base = endpoint.keyHeaders(creds, []);
    const signer = new aws4.RequestSigner({ host: 'bedrock-runtime.us-west-2.amazonaws.com', path, method: 'POST', service: 'bedrock', region: 'us-west-2', body, headers: { 'content-type': 'application/json' } }, creds.aws);
    expect(signer.canonicalString().split('\n')[1]).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse');
    const h = endpoint.sign!(base, creds, path, body);
    const get = (n: string) => h[h.indexOf(n) + 1];
    expect(get('authorization')).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-west-2\/bedrock\/aws4_request, SignedHeaders=[^,]*content-type[^,]*host[^,]*x-amz-security-token/);
    expect(get('x-amz-security-token')).toBe('TOKEN-1');
    expect(h).not.toContain('host');
    const other = endpoint.sign!(base, creds, path, Buffer.from('{"messages":[1]}'));
    expect(other[other.indexOf('authorization') + 1]).not.toBe(get('authorization'));
  });

  it('a Bedrock API key is a bearer token, with nothing to sign', () => {
    const key = { value: 'bedrock-api-key-1', aws: null };
    const h = endpoint.sign!(endpoint.keyHeaders(key, []), key, '/model/x/converse', Buffer.from('{}'));
    expect(h[h.indexOf('authorization') + 1]).toBe('Bearer bedrock-api-key-1');
    expect(h).not.toContain('x-amz-date');
  });
});

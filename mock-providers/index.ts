// The mock provider's public surface: start one in-process (tests, the gateway's zero-config provider)
// or many from fleet.ts (benchmarks).

export { startMock } from './server.ts';
export type { MockHandle } from './server.ts';
export type { LatencyDist, MockBehavior, MockConfig } from './config.ts';
export type { MockStats } from './stats.ts';

// Starts test/helpers/quota-racer.ts in a worker thread: a worker does not inherit the parent's tsx
// hooks on Node 20, so it registers tsx itself first (as src/threads/thread-from-source.mjs does).
import { register } from 'tsx/esm/api';

register();
await import('./quota-racer.ts');

// Starts a request thread from its TypeScript source (under tsx or vitest): a worker thread does not
// inherit the parent's --import hooks on Node 20, so it registers tsx itself first. Bundled builds
// start dist/request-thread.js directly and never load this file.
import { register } from 'tsx/esm/api';

register();
await import('./request-thread.ts');

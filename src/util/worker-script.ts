// Where a worker thread's script is. Bundled (npm run build), every worker is an entry of its own in
// dist/, and the code starting it may sit in dist/ or in dist/chunks/ (esbuild --splitting). From the
// TypeScript source (tsx, vitest), a small .mjs beside the caller registers tsx first: a worker thread
// does not inherit the parent's --import hooks on Node 20.
export function workerScript(callerUrl: string, bundled: string, fromSource: string): URL {
  if (!callerUrl.endsWith('.js')) return new URL(fromSource, callerUrl);
  return new URL(callerUrl.includes('/chunks/') ? `../${bundled}` : `./${bundled}`, callerUrl);
}

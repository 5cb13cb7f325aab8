// Loads uWebSockets.js and refuses to run on its silent JS fallback.
//
// The npm alias we depend on (@trufflesuite/uws-js-unofficial 20.30) ships native binaries for Node
// ABIs 93/108/115 (Node 16/18/20). On any other Node it quietly falls back to a pure-JS server built
// on `ws`, many times slower, with only a console.warn to show for it (engineering.md §0). A gateway
// whose whole point is latency must not start like that.
import uWS from 'uWebSockets.js';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';

export function assertNativeUws(): void {
  if (!/native code/.test(String(uWS.App))) {
    throw new Error(
      `uWebSockets.js did not load its native build on Node ${process.version} (ABI ${process.versions.modules}); ` +
        'the JS fallback is too slow for a gateway. Use Node 20, or on Node 22+ install the official build: ' +
        'npm i "uWebSockets.js@github:uNetworking/uWebSockets.js#v20.67.0" (see README, "Node 22 and later").',
    );
  }
}

assertNativeUws();

// Drop the `uWebSockets: 20` header every response would otherwise carry (char-sum key 656 →
// Loop::setSilent in this build, engineering.md §0). Undocumented, so failure is harmless.
try {
  (uWS as unknown as { _cfg?: (k: string) => void })._cfg?.('silent');
} catch {
  // older or newer builds without the switch: the header stays
}

/**
 * listen(host, port, options, cb): the native build takes it, its typings only declare the form without
 * a host. `exclusive` passes LIBUS_LISTEN_EXCLUSIVE_PORT (no SO_REUSEPORT): a second listener fails.
 */
export function listenOn(app: TemplatedApp, host: string, port: number, exclusive: boolean, cb: (token: us_listen_socket | false) => void): void {
  const options = exclusive ? (uWS as unknown as { LIBUS_LISTEN_EXCLUSIVE_PORT: number }).LIBUS_LISTEN_EXCLUSIVE_PORT : 0;
  (app as unknown as { listen(h: string, p: number, o: number, c: (t: us_listen_socket | false) => void): void }).listen(host, port, options, cb);
}

export { uWS };

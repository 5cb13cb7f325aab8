// Loads uWebSockets.js and refuses to run on its silent JS fallback.
//
// The npm alias we depend on (@trufflesuite/uws-js-unofficial 20.30) ships native binaries for Node
// ABIs 93/108/115 (Node 16/18/20). On any other Node it quietly falls back to a pure-JS server built
// on `ws`, many times slower, with only a console.warn to show for it (engineering.md §0). A gateway
// whose whole point is latency must not start like that.
import uWS from 'uWebSockets.js';

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

export { uWS };

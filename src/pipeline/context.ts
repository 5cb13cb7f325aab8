// One RequestContext per request: everything a stage reads or decides, with every field assigned in
// the constructor so V8 keeps one hidden class for all of them.
import type { HttpResponse } from 'uWebSockets.js';
import type { EndpointName, KeyPlan, RuntimePlan, Target } from '../config/plan.ts';
import type { GatewayError } from '../errors/gateway-error.ts';
import type { UpstreamAttempt } from '../upstream/attempt.ts';

/** What the server needs back from a request: counts for shutdown and the in-gateway histogram. */
export interface RequestSink {
  requestFinished(ctx: RequestContext): void;
  /** A stream relay paused its provider because the client was not keeping up. */
  upstreamPaused(): void;
}

export class RequestContext {
  readonly plan: RuntimePlan;
  readonly res: HttpResponse;
  readonly sink: RequestSink;
  readonly endpoint: EndpointName;
  readonly id: string;
  /** Request headers, lower-case names, copied out of uWS's stack-allocated request. */
  readonly headers: Record<string, string>;
  /** performance.now() at arrival. */
  readonly t0: number;

  // Body, as read from the client.
  bodyParts: Buffer[] | null = null;
  bodyLength = 0;
  raw: Buffer | null = null;
  body: Record<string, unknown> | null = null;
  /** The model name as the client wrote it. */
  model = '';
  stream = false;

  // Routing decision.
  target: Target | null = null;
  key: KeyPlan | null = null;

  // Lifecycle. `aborted`: the client went away; `done`: the response is complete. After either,
  // nothing may touch `res` (uWS throws, and from a timer that would crash the process).
  aborted = false;
  done = false;
  /** Response head written (a stream has started): errors must now travel in-band. */
  headSent = false;
  error: GatewayError | null = null;
  status = 0;

  // Timing (performance.now() ms): the upstream's share is subtracted to get the gateway's own time.
  tDispatch = 0;
  tUpstreamHead = 0;
  tUpstreamEnd = 0;
  /** Streams: when the response head and first bytes went to the client. */
  tFirstWrite = 0;
  tEnd = 0;
  /** The upstream attempt in flight, so a client abort can cancel it. */
  attempt: UpstreamAttempt | null = null;

  constructor(plan: RuntimePlan, res: HttpResponse, sink: RequestSink, endpoint: EndpointName, id: string, headers: Record<string, string>, t0: number) {
    this.plan = plan;
    this.res = res;
    this.sink = sink;
    this.endpoint = endpoint;
    this.id = id;
    this.headers = headers;
    this.t0 = t0;
  }

  /**
   * Microseconds the gateway itself spent (BENCHMARKING.md): arrival to last byte written minus the
   * wait on the provider (dispatch to its last byte). For a relayed stream: arrival to the first bytes
   * written minus dispatch to the provider's response head; the relay of later events is not in it.
   */
  gatewayMicros(): number {
    if (this.tDispatch === 0) return Math.round((this.tEnd - this.t0) * 1000);
    if (this.tFirstWrite !== 0) return Math.max(0, Math.round((this.tFirstWrite - this.t0 - (this.tUpstreamHead - this.tDispatch)) * 1000));
    const upstreamDone = this.tUpstreamEnd !== 0 ? this.tUpstreamEnd : this.tEnd;
    return Math.max(0, Math.round((this.tEnd - this.t0 - (upstreamDone - this.tDispatch)) * 1000));
  }
}

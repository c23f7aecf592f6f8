/**
 * What the gNMI session needs of a gRPC client, whichever transport carries it (GNMI_TRANSPORT,
 * ADR 265): client.ts builds the grpc-js one, h2-transport.ts the node:http2 one.
 */
import type { WireCapabilityResponse, WireSubscribeRequest, WireSubscribeResponse } from './proto';

/** A unary call's callback: a gRPC-shaped error (code, details), or the response. */
export type GnmiUnaryDone<T> = (err: (Error & { code: number; details?: string }) | null, response?: T) => void;

/** A Subscribe call: requests written, responses read in order; errors are gRPC-shaped. */
export interface GnmiSubscribeCall extends AsyncIterable<WireSubscribeResponse> {
  write(request: WireSubscribeRequest): void;
  cancel(): void;
}

/** A connected-on-demand gNMI client of one device, whichever transport carries it. */
export interface GnmiClient {
  /** Transport label shown on the device (lab modes say so). */
  readonly security: string;
  /** Capabilities, failing with DEADLINE_EXCEEDED after `timeoutMs`. */
  capabilities(timeoutMs: number, done: GnmiUnaryDone<WireCapabilityResponse>): { cancel(): void };
  subscribe(): GnmiSubscribeCall;
  close(): void;
}

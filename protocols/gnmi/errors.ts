/**
 * gRPC statuses and local failures → typed SessionErrors (the codes decide
 * retry; see core/session.ts). Also names the counters a failure increments.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { SessionError } from '../../core/session';
import { DecodeError } from './decode';

/** Counter incremented for a message that could not be parsed or decoded. */
export const MALFORMED_COUNTER = 'gnmi_malformed_messages_total';
/** Counter incremented for a message above the configured maximum size. */
export const OVERSIZED_COUNTER = 'gnmi_oversized_messages_total';
/** Counter of values skipped, labelled by kind (any: malformed wrapper payload, proto_bytes, unknown). */
export const SKIPPED_COUNTER = 'gnmi_skipped_values_total';
/** Counter of sessions that subscribed without a Capabilities answer, labelled by reason (unimplemented, timeout). */
export const CAPABILITIES_MISSING_COUNTER = 'gnmi_capabilities_unanswered_total';
/** Counter of sync_response messages received (initial sync, and each POLL / ONCE round). */
export const SYNC_COUNTER = 'gnmi_sync_responses_total';
/** Counter of notifications with timestamp 0 (or none), stamped with the receive time instead. */
export const ZERO_TIMESTAMP_COUNTER = 'gnmi_zero_timestamps_total';
/** Counter of updates whose full path repeated an earlier one in the same notification (the last one is kept). */
export const DUPLICATE_LEAF_COUNTER = 'gnmi_duplicate_leaves_total';

interface GrpcLikeError {
  code?: number;
  details?: string;
  message?: string;
}

function isGrpcError(err: unknown): err is GrpcLikeError & Error {
  return err instanceof Error && typeof (err as GrpcLikeError).code === 'number';
}

const TLS_HINT = /certificate|self[- ]signed|SSL|TLS|handshake|altnames|issuer|CERT_/i;

/** The counter a SessionError should increment, if any. */
export function counterFor(err: SessionError): string | undefined {
  if (err.code !== 'PROTOCOL_ERROR') return undefined;
  return /larger than max|OVERSIZED/i.test(err.message) ? OVERSIZED_COUNTER : MALFORMED_COUNTER;
}

/** Map anything thrown while talking to a device into a SessionError. */
export function toGnmiSessionError(err: unknown, what: string): SessionError {
  if (err instanceof SessionError) return err;
  if (err instanceof DecodeError) return new SessionError('PROTOCOL_ERROR', `${what}: ${err.message}`, { cause: err });
  if (!isGrpcError(err)) {
    const msg = err instanceof Error ? err.message : String(err);
    return new SessionError('INTERNAL', `${what}: ${msg}`, { cause: err });
  }
  const details = err.details || err.message || '';
  const text = `${what}: ${GrpcStatus[err.code!] ?? err.code} ${details}`;
  switch (err.code) {
    case GrpcStatus.UNAUTHENTICATED:
    case GrpcStatus.PERMISSION_DENIED:
      return new SessionError('AUTH_FAILED', text, { cause: err });
    case GrpcStatus.INVALID_ARGUMENT:
    case GrpcStatus.NOT_FOUND:
    case GrpcStatus.UNIMPLEMENTED:
      return new SessionError('CONFIG_INVALID', text, { cause: err });
    case GrpcStatus.RESOURCE_EXHAUSTED:
      if (/larger than max/i.test(details)) return new SessionError('PROTOCOL_ERROR', `${text} (OVERSIZED)`, { cause: err });
      return new SessionError('UNAVAILABLE', text, { cause: err });
    case GrpcStatus.INTERNAL:
      if (/parsing error|parse|invalid wire type|index out of range/i.test(details)) {
        return new SessionError('PROTOCOL_ERROR', `${text} (MALFORMED)`, { cause: err });
      }
      return new SessionError('INTERNAL', text, { cause: err });
    case GrpcStatus.UNAVAILABLE:
      // grpc-js reports a failed TLS handshake as UNAVAILABLE with the TLS error in the details.
      if (TLS_HINT.test(details)) return new SessionError('TLS_FAILED', text, { cause: err });
      return new SessionError('UNAVAILABLE', text, { cause: err });
    case GrpcStatus.DEADLINE_EXCEEDED:
    case GrpcStatus.ABORTED:
    case GrpcStatus.CANCELLED:
    case GrpcStatus.UNKNOWN:
      return new SessionError('UNAVAILABLE', text, { cause: err });
    default:
      return new SessionError('INTERNAL', text, { cause: err });
  }
}

/**
 * Loads proto/gnmi.proto once and exposes the service definition and the wire
 * types (as proto-loader decodes them: keepCase, longs and enums as strings,
 * oneof discriminators set). Shared by the collector and the simulated target.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import protobuf from 'protobufjs';

const PROTO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../proto');

/** proto-loader options every gNMI peer in this project uses. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  oneofs: true,
  defaults: false,
  includeDirs: [PROTO_DIR],
};

let loaded:
  | {
      definition: protoLoader.PackageDefinition;
      service: grpc.ServiceDefinition;
      Client: grpc.ServiceClientConstructor;
      CollectorClient: grpc.ServiceClientConstructor;
    }
  | undefined;

/**
 * The gNMI package definition, service definition and client constructors (loaded once).
 * `Client` reads responses as proto-loader's plain objects (64-bit integers as decimal
 * text); `CollectorClient`, the collector's, reads Subscribe responses with
 * readSubscribeResponse (ADR 101).
 */
export function gnmiProto() {
  if (!loaded) {
    const definition = protoLoader.loadSync('gnmi.proto', LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { gnmi: { gNMI: grpc.ServiceClientConstructor } };
    const service = pkg.gnmi.gNMI.service;
    const collectorService = { ...service, Subscribe: { ...service.Subscribe, responseDeserialize: readSubscribeResponse } };
    loaded = { definition, service, Client: pkg.gnmi.gNMI, CollectorClient: grpc.makeGenericClientConstructor(collectorService, 'gNMI') };
  }
  return loaded;
}

let root: protobuf.Root | undefined;

/** gnmi.proto as one protobufjs root (field names as written), loaded once. */
function gnmiRoot(): protobuf.Root {
  if (!root) {
    root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
    root.loadSync('gnmi.proto', { keepCase: true });
    root.resolveAll();
  }
  return root;
}

let subscribeResponseType: protobuf.Type | undefined;

/**
 * A SubscribeResponse as protobufjs decodes it, without proto-loader's toObject copy:
 * 64-bit integers stay WireLong (no decimal text to parse back), unset fields read as
 * proto3 defaults ('' / false / [] / null) from the message prototypes, oneof names are
 * getters. The collector's hot path (ADR 101); the decoder accepts both shapes.
 */
export function readSubscribeResponse(bytes: Uint8Array): WireSubscribeResponse {
  subscribeResponseType ??= gnmiRoot().lookupType('gnmi.SubscribeResponse');
  return subscribeResponseType.decode(bytes) as unknown as WireSubscribeResponse;
}

let subscribeRequestType: protobuf.Type | undefined;

/** A SubscribeRequest's bytes from its wire object, as proto-loader serializes it (fromObject, then encode). */
export function writeSubscribeRequest(request: WireSubscribeRequest): Uint8Array {
  subscribeRequestType ??= gnmiRoot().lookupType('gnmi.SubscribeRequest');
  return subscribeRequestType.encode(subscribeRequestType.fromObject(request)).finish();
}

let capabilityResponseType: protobuf.Type | undefined;

/** A CapabilityResponse as proto-loader's plain object (enums as names, LOADER_OPTIONS). */
export function readCapabilityResponse(bytes: Uint8Array): WireCapabilityResponse {
  capabilityResponseType ??= gnmiRoot().lookupType('gnmi.CapabilityResponse');
  return capabilityResponseType.toObject(capabilityResponseType.decode(bytes), { longs: String, enums: String, oneofs: true, defaults: false }) as WireCapabilityResponse;
}

/** A 64-bit integer as protobufjs decodes it (a `long` Long): two 32-bit halves. */
export interface WireLong {
  low: number;
  high: number;
  unsigned: boolean;
  toString(): string;
}

/** An int64/uint64 field: decimal text (proto-loader objects, tests) or a WireLong (readSubscribeResponse). */
export type WireInt64 = string | WireLong;

/** gNMI Encoding enum names as they appear on the wire objects. */
export type WireEncoding = 'JSON' | 'BYTES' | 'PROTO' | 'ASCII' | 'JSON_IETF';

export interface WirePathElem {
  name: string;
  key?: Record<string, string>;
}

export interface WirePath {
  element?: string[];
  origin?: string;
  elem?: WirePathElem[];
  target?: string;
}

export interface WireDecimal64 {
  digits?: WireInt64;
  precision?: number;
}

/** TypedValue as decoded; `value` names the field that is set (oneof discriminator). */
export interface WireTypedValue {
  value?: string;
  string_val?: string;
  int_val?: WireInt64;
  uint_val?: WireInt64;
  bool_val?: boolean;
  bytes_val?: Buffer;
  float_val?: number;
  double_val?: number;
  decimal_val?: WireDecimal64;
  leaflist_val?: { element?: WireTypedValue[] };
  any_val?: { type_url?: string; value?: Buffer };
  json_val?: Buffer;
  json_ietf_val?: Buffer;
  ascii_val?: string;
  proto_bytes?: Buffer;
}

export interface WireUpdate {
  path?: WirePath;
  /** Deprecated `Value` (encoded bytes plus encoding), still sent by old targets. */
  value?: { value?: Buffer; type?: WireEncoding | number };
  val?: WireTypedValue;
  duplicates?: number;
}

export interface WireNotification {
  timestamp?: WireInt64;
  prefix?: WirePath;
  alias?: string;
  update?: WireUpdate[];
  delete?: WirePath[];
  atomic?: boolean;
}

export interface WireSubscribeResponse {
  response?: 'update' | 'sync_response' | 'error';
  update?: WireNotification;
  sync_response?: boolean;
  error?: { code?: number; message?: string };
}

export interface WireSubscription {
  path?: WirePath;
  mode?: 'TARGET_DEFINED' | 'ON_CHANGE' | 'SAMPLE';
  sample_interval?: string;
  suppress_redundant?: boolean;
  heartbeat_interval?: string;
}

export interface WireSubscriptionList {
  prefix?: WirePath;
  subscription?: WireSubscription[];
  mode?: 'STREAM' | 'ONCE' | 'POLL';
  allow_aggregation?: boolean;
  encoding?: WireEncoding;
  updates_only?: boolean;
}

export interface WireSubscribeRequest {
  request?: 'subscribe' | 'poll';
  subscribe?: WireSubscriptionList;
  poll?: Record<string, never>;
}

export interface WireCapabilityResponse {
  supported_models?: Array<{ name?: string; organization?: string; version?: string }>;
  supported_encodings?: WireEncoding[];
  gNMI_version?: string;
}

export interface WireGetRequest {
  prefix?: WirePath;
  path?: WirePath[];
  type?: 'ALL' | 'CONFIG' | 'STATE' | 'OPERATIONAL';
  encoding?: WireEncoding;
}

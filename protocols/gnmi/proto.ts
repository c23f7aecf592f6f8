/**
 * Loads proto/gnmi.proto once and exposes the service definition and the wire
 * types (as proto-loader decodes them: keepCase, longs and enums as strings,
 * oneof discriminators set). Shared by the collector and the simulated target.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';

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

let loaded: { definition: protoLoader.PackageDefinition; service: grpc.ServiceDefinition; Client: grpc.ServiceClientConstructor } | undefined;

/** The gNMI package definition, service definition and client constructor (loaded once). */
export function gnmiProto() {
  if (!loaded) {
    const definition = protoLoader.loadSync('gnmi.proto', LOADER_OPTIONS);
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { gnmi: { gNMI: grpc.ServiceClientConstructor } };
    loaded = { definition, service: pkg.gnmi.gNMI.service, Client: pkg.gnmi.gNMI };
  }
  return loaded;
}

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
  digits?: string;
  precision?: number;
}

/** TypedValue as decoded; `value` names the field that is set (oneof discriminator). */
export interface WireTypedValue {
  value?: string;
  string_val?: string;
  int_val?: string;
  uint_val?: string;
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
  value?: { value?: Buffer; type?: WireEncoding };
  val?: WireTypedValue;
  duplicates?: number;
}

export interface WireNotification {
  timestamp?: string;
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

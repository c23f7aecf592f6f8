/**
 * A simulated gNMI target for one SimDevice: Capabilities, Get and Subscribe in
 * every mode, username/password metadata, TLS/mTLS, and fault injection. Many
 * targets run in one process, each on its own port.
 */
import * as grpc from '@grpc/grpc-js';
import { formatPath, joinPaths } from '../../core/path';
import { fromWirePath } from '../../protocols/gnmi/paths';
import { gnmiProto, type WireGetRequest, type WireNotification, type WireSubscriptionList } from '../../protocols/gnmi/proto';
import type { SimDevice } from '../model';
import { buildNotifications, nowNanos, type SelectedLeaf } from './encode';
import { GnmiFaults } from './faults';
import type { GnmiGenerator } from './templates';
import { leafPath, pathInSchema, pathSelects } from './match';
import { RawFrame, statusError, SubscribeStream, SUPPORTED_ENCODINGS, type StreamTiming } from './stream';

export { GnmiFaults } from './faults';

/** Server TLS material (PEM). With `clientCa` the target requires client certificates (mTLS). */
export interface TargetTls {
  cert: string;
  key: string;
  /** CA that client certificates must chain to; set for mTLS. */
  clientCa?: string;
}

/** Options of one simulated target. */
export interface GnmiTargetOptions {
  device: SimDevice;
  host?: string;
  /** 0 picks an ephemeral port. */
  port?: number;
  tls?: TargetTls;
  auth?: { username: string; password: string };
  timing?: Partial<StreamTiming>;
  /** `templates`: the cheap load generator for capacity benchmarks (simulator/gnmi/templates.ts); default realistic. */
  generator?: GnmiGenerator;
}

/** A running target. */
export interface GnmiTarget {
  port: number;
  faults: GnmiFaults;
  /** The last SubscriptionLists received (newest last, at most 100): what clients asked for. */
  subscriptions: WireSubscriptionList[];
  /** Send a hand-built notification on every open Subscribe stream (tests, demos). */
  broadcast(n: WireNotification): number;
  close(): Promise<void>;
}

/** Models the simulator announces in Capabilities. */
/** The gNMI version the simulated targets answer in Capabilities. */
export const GNMI_VERSION = '0.10.0';

export const SUPPORTED_MODELS = [
  { name: 'openconfig-interfaces', organization: 'OpenConfig working group', version: '3.0.0' },
  { name: 'openconfig-platform', organization: 'OpenConfig working group', version: '0.24.0' },
  { name: 'openconfig-system', organization: 'OpenConfig working group', version: '2.1.0' },
];

/** Start a simulated gNMI target. */
export async function startGnmiTarget(opts: GnmiTargetOptions): Promise<GnmiTarget> {
  const { service } = gnmiProto();
  const faults = new GnmiFaults(Date.now, opts.device);
  const timing: StreamTiming = { defaultSampleMs: 1000, minSampleMs: 10, onChangeCheckMs: 250, ...opts.timing };
  const device = opts.device;
  const subscriptions: WireSubscriptionList[] = [];

  // Raw frames (fault injection) bypass protobuf serialization.
  const serialize = service.Subscribe.responseSerialize;
  const patched: grpc.ServiceDefinition = {
    ...service,
    Subscribe: { ...service.Subscribe, responseSerialize: (v: unknown) => (v instanceof RawFrame ? v.bytes : serialize(v)) },
  };

  const authError = (md: grpc.Metadata): grpc.ServiceError | null => {
    if (faults.isUnreachable) return statusError(grpc.status.UNAVAILABLE, 'target unreachable (simulated)') as grpc.ServiceError;
    if (faults.rejectingCredentials) return statusError(grpc.status.UNAUTHENTICATED, 'credentials rejected') as grpc.ServiceError;
    if (!opts.auth) return null;
    const user = md.get('username')[0];
    const pass = md.get('password')[0];
    if (user === undefined) return statusError(grpc.status.UNAUTHENTICATED, 'username/password metadata required') as grpc.ServiceError;
    if (String(user) !== opts.auth.username || String(pass) !== opts.auth.password) {
      return statusError(grpc.status.UNAUTHENTICATED, 'invalid username or password') as grpc.ServiceError;
    }
    return null;
  };

  const handlers: grpc.UntypedServiceImplementation = {
    Capabilities(call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const err = authError(call.metadata);
      if (err) return cb(err);
      // A partial target (issue 13): the RPC missing, or a call left unanswered until the client's deadline.
      if (faults.capabilitiesMode === 'unimplemented') return cb(statusError(grpc.status.UNIMPLEMENTED, 'method Capabilities not implemented') as grpc.ServiceError);
      if (faults.capabilitiesMode === 'silent') return;
      const supported_encodings = SUPPORTED_ENCODINGS.filter((e) => faults.acceptsEncoding(e));
      cb(null, { supported_models: SUPPORTED_MODELS, supported_encodings, gNMI_version: GNMI_VERSION });
    },
    Get(call: grpc.ServerUnaryCall<WireGetRequest, unknown>, cb: grpc.sendUnaryData<unknown>) {
      const err = authError(call.metadata);
      if (err) return cb(err);
      const req = call.request;
      const encoding = req.encoding ?? 'JSON';
      if (!SUPPORTED_ENCODINGS.includes(encoding) || !faults.acceptsEncoding(encoding)) return cb(statusError(grpc.status.UNIMPLEMENTED, `encoding ${encoding} is not supported`) as grpc.ServiceError);
      let prefix;
      try {
        prefix = fromWirePath(req.prefix);
      } catch (e) {
        return cb(statusError(grpc.status.INVALID_ARGUMENT, (e as Error).message) as grpc.ServiceError);
      }
      const leaves = device.leaves().map((l) => ({ path: leafPath(l.path), value: l.value }));
      const schema = leaves.map((l) => l.path.elems);
      const notification: WireNotification[] = [];
      const timestamp = nowNanos();
      for (const wp of req.path?.length ? req.path : [{}]) {
        let path;
        try {
          path = joinPaths(prefix, fromWirePath(wp));
        } catch (e) {
          return cb(statusError(grpc.status.INVALID_ARGUMENT, (e as Error).message) as grpc.ServiceError);
        }
        if (!pathInSchema(path.elems, schema)) return cb(statusError(grpc.status.NOT_FOUND, `${formatPath(path)} is not in the schema`) as grpc.ServiceError);
        const selected: SelectedLeaf[] = leaves.filter((l) => pathSelects(path.elems, l.path.elems));
        notification.push(...buildNotifications(selected, { encoding, timestamp, target: req.prefix?.target || undefined }));
      }
      cb(null, { notification });
    },
    Set(_call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) {
      cb(statusError(grpc.status.UNIMPLEMENTED, 'the simulator is read-only') as grpc.ServiceError);
    },
    Subscribe(call: grpc.ServerDuplexStream<unknown, unknown>) {
      const err = authError(call.metadata);
      if (err) {
        call.emit('error', err);
        return;
      }
      new SubscribeStream(call as never, device, faults, timing, (list) => {
        subscriptions.push(list);
        if (subscriptions.length > 100) subscriptions.shift();
      }, { generator: opts.generator ?? 'realistic', serialize: serialize as (msg: object) => Buffer });
    },
  };

  const server = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
  server.addService(patched, handlers);
  const credentials = opts.tls
    ? grpc.ServerCredentials.createSsl(
        opts.tls.clientCa ? Buffer.from(opts.tls.clientCa) : null,
        [{ private_key: Buffer.from(opts.tls.key), cert_chain: Buffer.from(opts.tls.cert) }],
        !!opts.tls.clientCa,
      )
    : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${opts.host ?? '127.0.0.1'}:${opts.port ?? 0}`, credentials, (err, p) => (err ? reject(err) : resolve(p)));
  });

  return {
    port,
    faults,
    subscriptions,
    broadcast(n) {
      for (const s of faults.streams) (s as SubscribeStream).inject(n);
      return faults.streams.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of [...faults.streams]) s.drop();
        server.tryShutdown(() => resolve());
        // Streams that ignore the drop must not keep the simulator from stopping.
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000).unref();
      }),
  };
}

'use strict';
// Interop cases against the real FlashDeal services (auth, catalog, orders) with @grpc/grpc-js, an independent gRPC
// implementation. The schema is the binary FileDescriptorSet the xunit fixture writes (no protos compiled here).
// Usage: node grpc-js.js <config.json>. Prints one JSON line per case; the xunit tests assert them.
const fs = require('node:fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const descriptor = require('protobufjs/ext/descriptor');
const { loadConfig, runCases, schemaTypes, decodeStatus } = require('./lib/common');

const config = loadConfig();
const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const proto = grpc.loadPackageDefinition(
  protoLoader.loadFileDescriptorSetFromBuffer(fs.readFileSync(config.schema), loaderOptions));
const types = schemaTypes(config.schema);

const credentials = grpc.credentials.createInsecure();
const { CatalogService } = proto.flashdeal.catalog.v1;
const catalog = new CatalogService(config.catalog, credentials);
// CompressionAlgorithms.gzip = 2: every request message on this channel is gzip-compressed.
const gzipCatalog = new CatalogService(config.catalog, credentials, { 'grpc.default_compression_algorithm': 2 });
const orders = new proto.flashdeal.orders.v1.OrderService(config.orders, credentials);
const auth = new proto.flashdeal.auth.v1.AuthService(config.auth, credentials);
const health = new proto.grpc.health.v1.Health(config.catalog, credentials);
const { ServerReflection } = proto.grpc.reflection.v1;
const reflection = new ServerReflection(config.catalog, credentials);
const clients = [catalog, gzipCatalog, orders, auth, health, reflection];

// Generous: on a busy machine only the deadline case is about deadlines.
const deadline = (ms = 30000) => Date.now() + ms;
const unknownDealId = '00000000-0000-4000-8000-000000000000';

/** Tags the call for the server-side recorder; optionally adds the bearer token and other headers. */
function tagged(name, { token, headers = {} } = {}) {
  const metadata = new grpc.Metadata();
  metadata.set('x-interop-case', `${config.client}/${name}`);
  if (token) metadata.set('authorization', `Bearer ${token}`);
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return metadata;
}

/** A unary call; resolves {code, details, response, headers, trailers} once the status has arrived. */
function unary(client, method, request, metadata, options = {}) {
  return new Promise((resolve) => {
    let result;
    let headers;
    const call = client[method](request, metadata, { deadline: deadline(), ...options }, (error, response) => {
      result = error ? { code: error.code, details: error.details } : { code: grpc.status.OK, response };
    });
    call.on('metadata', (h) => { headers = h; });
    call.on('status', (status) => resolve({ ...result, headers, trailers: status.metadata }));
  });
}

/** The decoded grpc-status-details-bin of a failed call ({} when there is none). */
function details(result) {
  const bytes = result.trailers && result.trailers.get('grpc-status-details-bin');
  return bytes && bytes.length ? decodeStatus(types, bytes[0]) : {};
}

/** Sends reflection requests over one ServerReflectionInfo stream at `path` (v1 or v1alpha); resolves the answers. */
function reflect(path, requests, metadata) {
  const method = ServerReflection.service.ServerReflectionInfo;
  return new Promise((resolve, reject) => {
    const call = reflection.makeBidiStreamRequest(path, method.requestSerialize, method.responseDeserialize, metadata,
      { deadline: deadline() });
    const answers = [];
    call.on('data', (answer) => answers.push(answer));
    call.on('error', reject);
    call.on('end', () => resolve(answers));
    for (const request of requests) call.write(request);
    call.end();
  });
}

const serviceNames = (answer) => answer.list_services_response.service.map((s) => s.name);

runCases({
  async reflection(name) {
    const [list, files] = await reflect('/grpc.reflection.v1.ServerReflection/ServerReflectionInfo', [
      { list_services: '' },
      { file_containing_symbol: 'flashdeal.catalog.v1.CatalogService' },
    ], tagged(name));
    const [v1alpha] = await reflect('/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
      [{ list_services: '' }], tagged(name));
    // The reflected files alone must be enough to build a working client.
    const fileProtos = files.file_descriptor_response.file_descriptor_proto
      .map((bytes) => descriptor.FileDescriptorProto.decode(bytes));
    const set = descriptor.FileDescriptorSet.encode({ file: fileProtos }).finish();
    const reflected = grpc.loadPackageDefinition(protoLoader.loadFileDescriptorSetFromBuffer(set, loaderOptions));
    const client = new reflected.flashdeal.catalog.v1.CatalogService(config.catalog, credentials);
    const deal = await unary(client, 'GetDeal', { deal_id: config.live_deal_id }, tagged(name));
    client.close();
    return {
      services: serviceNames(list),
      v1alpha_services: serviceNames(v1alpha),
      files: fileProtos.map((f) => f.name),
      reflected_title: deal.response ? deal.response.deal.title : `failed: ${deal.code} ${deal.details}`,
    };
  },

  async health(name) {
    const check = (service) => unary(health, 'Check', { service }, tagged(name));
    const overall = await check('');
    const api = await check('flashdeal.catalog.v1.CatalogService');
    const unknown = await check('no.such.Service');
    return {
      overall: overall.response ? overall.response.status : `failed: ${overall.code} ${overall.details}`,
      catalog: api.response ? api.response.status : `failed: ${api.code} ${api.details}`,
      unknown_code: unknown.code,
    };
  },

  health_watch(name) {
    return new Promise((resolve) => {
      let done = false;
      const call = health.Watch({ service: '' }, tagged(name), { deadline: deadline() });
      call.on('data', (m) => {
        if (!done) {
          done = true;
          resolve({ first_status: m.status });
          call.cancel();
        }
      });
      call.on('error', (e) => {
        if (!done) {
          done = true;
          resolve({ code: e.code, details: e.details });
        }
      });
    });
  },

  async get_deal(name) {
    const { code, details: message, response } = await unary(catalog, 'GetDeal', { deal_id: config.live_deal_id },
      tagged(name));
    const deal = response ? response.deal : {};
    return {
      code, message, deal_id: deal.deal_id, title: deal.title, state: deal.state, remaining_stock: deal.remaining_stock,
    };
  },

  async place_order(name) {
    const request = { deal_id: config.live_deal_id, quantity: 1, idempotency_key: `interop-${config.client}-order` };
    const first = await unary(orders, 'PlaceOrder', request, tagged(name, { token: config.access_token }));
    const replay = await unary(orders, 'PlaceOrder', request, tagged(name, { token: config.access_token }));
    const order = first.response ? first.response.order : {};
    return {
      code: first.code,
      message: first.details,
      order_id: order.order_id,
      deal_id: order.deal_id,
      status: order.status,
      replayed: first.response ? first.response.replayed : null,
      replay_code: replay.code,
      replay_order_id: replay.response ? replay.response.order.order_id : null,
      replay_replayed: replay.response ? replay.response.replayed : null,
    };
  },

  // The deal's one unit was sold during seeding: two refusals (the second may come from the service's sold-out flag),
  // each the call's status with its ErrorInfo and no response, then an order on the live deal over the same channel.
  async sold_out(name) {
    const request = (key) => ({ deal_id: config.sold_out_deal_id, quantity: 1,
      idempotency_key: `interop-${config.client}-${key}` });
    const metadata = () => tagged(name, { token: config.access_token });
    const first = await unary(orders, 'PlaceOrder', request('sold-out-1'), metadata());
    const second = await unary(orders, 'PlaceOrder', request('sold-out-2'), metadata());
    const next = await unary(orders, 'PlaceOrder', { ...request('sold-out-next'), deal_id: config.live_deal_id },
      metadata());
    return {
      code: first.code, message: first.details, response: first.response ?? null, ...details(first),
      second_code: second.code, second_reason: details(second).reason, second_response: second.response ?? null,
      next_code: next.code,
    };
  },

  async deal_not_found(name) {
    const result = await unary(catalog, 'GetDeal', { deal_id: unknownDealId }, tagged(name));
    return { code: result.code, message: result.details, ...details(result) };
  },

  async invalid_argument(name) {
    const request = { deal_id: 'x', quantity: 1, idempotency_key: `interop-${config.client}-invalid` };
    const result = await unary(orders, 'PlaceOrder', request, tagged(name, { token: config.access_token }));
    return { code: result.code, message: result.details, ...details(result) };
  },

  async unauthenticated(name) {
    const request = { deal_id: config.live_deal_id, quantity: 1, idempotency_key: `interop-${config.client}-anonymous` };
    const result = await unary(orders, 'PlaceOrder', request, tagged(name));
    return { code: result.code, message: result.details, ...details(result) };
  },

  // The upcoming deal's watch sends its snapshot, then only heartbeats: the deadline ends it.
  deadline(name) {
    return new Promise((resolve) => {
      const started = Date.now();
      let messages = 0;
      const call = catalog.WatchDeal({ deal_id: config.upcoming_deal_id }, tagged(name),
        { deadline: Date.now() + config.short_deadline_ms });
      call.on('data', () => { messages++; });
      call.on('error', (e) => resolve({ code: e.code, message: e.details, messages, elapsed_ms: Date.now() - started }));
      call.on('status', (s) => {
        if (s.code === grpc.status.OK) resolve({ code: s.code, messages, elapsed_ms: Date.now() - started });
      });
    });
  },

  // The upcoming deal's watch stays quiet: after its snapshot the server sends heartbeats (the mesh sends one every
  // 300 ms), told apart by which field is set. Stops after three.
  heartbeat(name) {
    return new Promise((resolve) => {
      const kinds = [];
      const times = [];
      let done = false;
      const finish = (extra) => {
        if (!done) {
          done = true;
          resolve({ kinds, heartbeat_times: times, ...extra });
        }
      };
      const call = catalog.WatchDeal({ deal_id: config.upcoming_deal_id }, tagged(name), { deadline: deadline(60000) });
      call.on('data', ({ snapshot, heartbeat }) => {
        kinds.push(snapshot && heartbeat ? 'both' : snapshot ? 'snapshot' : heartbeat ? 'heartbeat' : 'none');
        if (heartbeat) times.push(Number(heartbeat.server_time.seconds));
        if (times.length >= 3) {
          finish({});
          call.cancel();
        }
      });
      call.on('error', (e) => finish({ code: e.code, message: e.details }));
      call.on('status', (s) => finish({ code: s.code }));
    });
  },

  async metadata(name) {
    const requestId = `interop-${config.client}`;
    const ok = await unary(catalog, 'GetDeal', { deal_id: config.live_deal_id },
      tagged(name, { headers: { 'x-request-id': requestId } }));
    const failed = await unary(catalog, 'GetDeal', { deal_id: unknownDealId }, tagged(name));
    const statusDetails = details(failed);
    return {
      code: ok.code,
      request_id: ok.headers ? ok.headers.get('x-request-id')[0] : null,
      stock_source: ok.trailers.get('flashdeal-stock-source')[0],
      error_code: failed.code,
      status_code: statusDetails.status_code,
      reason: statusDetails.reason,
    };
  },

  async oversized(name) {
    const request = { email: 'big@flashdeal.test', password: 'interop-big-password', display_name: 'x'.repeat(5 << 20) };
    const result = await unary(auth, 'SignUp', request, tagged(name));
    const next = await unary(auth, 'GetJwks', {}, tagged(name));
    return { code: result.code, message: result.details, next_code: next.code };
  },

  async gzip(name) {
    const result = await unary(gzipCatalog, 'ListProducts', { page_size: 100, query: config.product_query },
      tagged(name));
    return { code: result.code, message: result.details, products: result.response && result.response.products.length };
  },

  // Watches the live deal, places an order after the first snapshot and waits for a snapshot with less stock.
  watch_deal(name) {
    return new Promise((resolve) => {
      const remaining = [];
      const versions = [];
      let orderCode = null;
      let done = false;
      const finish = (extra) => {
        if (!done) {
          done = true;
          resolve({ remaining, versions, order_code: orderCode, ...extra });
        }
      };
      const call = catalog.WatchDeal({ deal_id: config.live_deal_id }, tagged(name), { deadline: deadline(60000) });
      call.on('data', async ({ snapshot }) => {
        if (!snapshot) return; // a heartbeat: the stream is alive, nothing changed
        remaining.push(snapshot.remaining_stock);
        versions.push(String(snapshot.version));
        if (remaining.length === 1) {
          const request = { deal_id: config.live_deal_id, quantity: 1, idempotency_key: `interop-${config.client}-watch` };
          orderCode = (await unary(orders, 'PlaceOrder', request, tagged(name, { token: config.access_token }))).code;
        } else if (snapshot.remaining_stock < remaining[0]) {
          finish({});
          call.cancel();
        }
      });
      call.on('error', (e) => finish({ code: e.code, message: e.details }));
      call.on('status', (s) => finish({ code: s.code }));
    });
  },
}).finally(() => {
  for (const client of clients) client.close();
});

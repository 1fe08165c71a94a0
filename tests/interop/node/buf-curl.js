'use strict';
// Interop cases against the real FlashDeal services (auth, catalog, orders) with `buf curl` (connect-go's gRPC
// client), one buf process per call. Every call takes its schema from the FileDescriptorSet file the xunit fixture
// writes (--schema), so --timeout covers the call alone; only the reflection case uses server reflection.
// Usage: node buf-curl.js <config.json>. Prints one JSON line per case; the xunit tests assert them.
const { spawn } = require('node:child_process');
const { loadConfig, runCases, schemaTypes, decodeStatus, decodeDetails } = require('./lib/common');

const config = loadConfig();
const types = schemaTypes(config.schema);
const bufShim = require.resolve('@bufbuild/buf/bin/buf');
const url = (address, method) => `http://${address}/${method}`;
const catalogUrl = (method) => url(config.catalog, `flashdeal.catalog.v1.CatalogService/${method}`);
const ordersUrl = (method) => url(config.orders, `flashdeal.orders.v1.OrderService/${method}`);
const unknownDealId = '00000000-0000-4000-8000-000000000000';
// Generous: on a busy machine only the deadline case is about deadlines. A buf process that outlives its own
// --timeout by this much is killed (and the case fails with what it printed).
const callTimeout = '30s';
const killAfterMs = 90000;

/**
 * Starts `buf curl --protocol grpc ... args` in a process group of its own: @bufbuild/buf's bin/buf is a Node shim
 * that runs the Go binary as its child, and stop() must end both. `done` resolves {exit, code, stdout, stderr}
 * (buf exits with the gRPC code << 3).
 */
function startBufCurl(args, { stdin = '', onStdout } = {}) {
  const child = spawn(process.execPath, [bufShim, 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args],
    { detached: true });
  const stop = (signal = 'SIGTERM') => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const done = new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const killer = setTimeout(() => stop('SIGKILL'), killAfterMs);
    child.stdout.on('data', (d) => {
      stdout += d;
      if (onStdout) onStdout(stdout);
    });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (exit, signal) => {
      clearTimeout(killer);
      const code = exit === 0 ? 0 : exit >= 8 ? exit >> 3 : null;
      resolve({ exit, signal, code, stdout, stderr });
    });
  });
  child.stdin.end(stdin);
  return { stop, done };
}

/** One call with the schema file: `buf curl --schema … -H x-interop-case … url -d json`. */
function call(name, target, request, { headers = [], timeout = callTimeout, verbose = false, stdin = false } = {}) {
  const args = ['--schema', config.schema, '--emit-defaults', '--timeout', timeout,
    '-H', `x-interop-case: ${config.client}/${name}`, ...headers.flatMap((h) => ['-H', h])];
  if (verbose) args.push('-v');
  const body = JSON.stringify(request);
  return startBufCurl([...args, target, '-d', stdin ? '@-' : body], { stdin: stdin ? body : '' }).done;
}

const bearer = () => `authorization: Bearer ${config.access_token}`;

/** buf prints each response message (stdout) and an error (stderr) as a JSON document, one after another. */
function jsonDocuments(text) {
  const docs = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}' && --depth === 0) {
      docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return docs;
}

/** The error buf printed: {code, code_name, message, types, reason, domain, fields}. */
function printedError(result) {
  const printed = jsonDocuments(result.stderr.split('\n').filter((l) => !l.startsWith('buf: ')).join('\n'))[0];
  if (!printed) {
    return { code: result.code, stderr: result.stderr.slice(-2000) };
  }
  const details = (printed.details || []).map((d) => ({ type_url: d.type, value: Buffer.from(d.value, 'base64') }));
  return { code: result.code, code_name: printed.code, message: printed.message, ...decodeDetails(types, details) };
}

/** From `-v` output, the request headers, response headers and trailers (lower-case names) of stream #1. */
function verboseHeaders(stderr) {
  const request = {};
  const response = {};
  const trailers = {};
  let section = 0; // 0 headers, 1 body, 2 trailers
  for (const line of stderr.split('\n')) {
    const m = line.match(/^buf: ([<>]) \(#1\) ?(.*)$/);
    if (!m) continue;
    const [, direction, text] = m;
    const header = text.match(/^([^:]+): (.*)$/);
    if (direction === '>') {
      if (header) request[header[1].toLowerCase()] = header[2];
    } else if (text === '') {
      section++;
    } else if (header) {
      (section >= 2 ? trailers : response)[header[1].toLowerCase()] = header[2];
    }
  }
  return { request, response, trailers };
}

const lines = (text) => text.split('\n').filter((l) => l.length > 0);

runCases({
  // Server reflection, v1 then v1alpha; -H headers go with the reflection requests too (--reflect-header '*').
  async reflection(name) {
    const reflect = (...args) => startBufCurl(['--timeout', callTimeout, '-H', `x-interop-case: ${config.client}/${name}`,
      '--reflect-header', '*', ...args, `http://${config.catalog}`]).done;
    const services = await reflect('--reflect-protocol', 'grpc-v1', '--list-services');
    const v1alpha = await reflect('--reflect-protocol', 'grpc-v1alpha', '--list-services');
    const methods = await reflect('--list-methods');
    for (const r of [services, v1alpha, methods]) {
      if (r.exit !== 0) throw new Error(`buf curl exited with ${r.exit}: ${r.stderr}`);
    }
    return { services: lines(services.stdout), v1alpha_services: lines(v1alpha.stdout), methods: lines(methods.stdout) };
  },

  async health(name) {
    const check = (service) => call(name, url(config.catalog, 'grpc.health.v1.Health/Check'), { service });
    const overall = await check('');
    const api = await check('flashdeal.catalog.v1.CatalogService');
    const unknown = await check('no.such.Service');
    return {
      overall: jsonDocuments(overall.stdout)[0]?.status ?? `failed: ${overall.stderr}`,
      catalog: jsonDocuments(api.stdout)[0]?.status ?? `failed: ${api.stderr}`,
      unknown_code: unknown.code,
    };
  },

  // Watch never ends on its own: the first message arrives, then buf's --timeout ends the call.
  async health_watch(name) {
    const r = await call(name, url(config.catalog, 'grpc.health.v1.Health/Watch'), { service: '' }, { timeout: '10s' });
    return { first_status: jsonDocuments(r.stdout)[0]?.status, code: r.code };
  },

  async get_deal(name) {
    const r = await call(name, catalogUrl('GetDeal'), { dealId: config.live_deal_id });
    const deal = jsonDocuments(r.stdout)[0]?.deal ?? {};
    return {
      code: r.code, deal_id: deal.dealId, title: deal.title, state: deal.state, remaining_stock: deal.remainingStock,
    };
  },

  async place_order(name) {
    const request = { dealId: config.live_deal_id, quantity: 1, idempotencyKey: `interop-${config.client}-order` };
    const first = await call(name, ordersUrl('PlaceOrder'), request, { headers: [bearer()] });
    const replay = await call(name, ordersUrl('PlaceOrder'), request, { headers: [bearer()] });
    const placed = jsonDocuments(first.stdout)[0];
    const replayed = jsonDocuments(replay.stdout)[0];
    return {
      code: first.code,
      stderr: first.code === 0 ? undefined : first.stderr,
      order_id: placed?.order.orderId,
      deal_id: placed?.order.dealId,
      status: placed?.order.status,
      replayed: placed?.replayed,
      replay_code: replay.code,
      replay_order_id: replayed?.order.orderId,
      replay_replayed: replayed?.replayed,
    };
  },

  // The deal's one unit was sold during seeding: two refusals (the second may come from the service's sold-out flag),
  // each the call's error with its ErrorInfo and nothing printed as a response, then an order on the live deal.
  async sold_out(name) {
    const request = (key) => ({ dealId: config.sold_out_deal_id, quantity: 1,
      idempotencyKey: `interop-${config.client}-${key}` });
    const first = await call(name, ordersUrl('PlaceOrder'), request('sold-out-1'), { headers: [bearer()] });
    const second = await call(name, ordersUrl('PlaceOrder'), request('sold-out-2'), { headers: [bearer()] });
    const next = await call(name, ordersUrl('PlaceOrder'), { ...request('sold-out-next'), dealId: config.live_deal_id },
      { headers: [bearer()] });
    return {
      ...printedError(first), response: jsonDocuments(first.stdout)[0] ?? null,
      second_code: second.code, second_reason: printedError(second).reason,
      second_response: jsonDocuments(second.stdout)[0] ?? null, next_code: next.code,
    };
  },

  async deal_not_found(name) {
    return printedError(await call(name, catalogUrl('GetDeal'), { dealId: unknownDealId }));
  },

  async invalid_argument(name) {
    const request = { dealId: 'x', quantity: 1, idempotencyKey: `interop-${config.client}-invalid` };
    return printedError(await call(name, ordersUrl('PlaceOrder'), request, { headers: [bearer()] }));
  },

  async unauthenticated(name) {
    const request = { dealId: config.live_deal_id, quantity: 1, idempotencyKey: `interop-${config.client}-anonymous` };
    return printedError(await call(name, ordersUrl('PlaceOrder'), request));
  },

  // The upcoming deal's watch sends its snapshot, then only heartbeats: the deadline ends it.
  async deadline(name) {
    const r = await call(name, catalogUrl('WatchDeal'), { dealId: config.upcoming_deal_id },
      { timeout: `${config.short_deadline_ms}ms` });
    return { ...printedError(r), messages: jsonDocuments(r.stdout).length };
  },

  // The upcoming deal's watch stays quiet: after its snapshot the server sends heartbeats (the mesh sends one every
  // 300 ms), told apart by which field is set. Stops after three.
  heartbeat(name) {
    return new Promise((resolve, reject) => {
      let messages = [];
      let stopped = false;
      const watch = startBufCurl(['--schema', config.schema, '--emit-defaults', '--timeout', '60s',
        '-H', `x-interop-case: ${config.client}/${name}`, catalogUrl('WatchDeal'), '-d',
        JSON.stringify({ dealId: config.upcoming_deal_id })], {
        onStdout(stdout) {
          messages = jsonDocuments(stdout);
          if (!stopped && messages.filter((m) => m.heartbeat).length >= 3) {
            stopped = true;
            watch.stop();
          }
        },
      });
      watch.done.then((r) => {
        const kinds = messages.map((m) => (m.snapshot && m.heartbeat ? 'both'
          : m.snapshot ? 'snapshot' : m.heartbeat ? 'heartbeat' : 'none'));
        resolve({
          code: stopped ? undefined : r.code,
          stderr: stopped ? undefined : r.stderr.slice(-2000),
          kinds,
          heartbeat_times: messages.filter((m) => m.heartbeat)
            .map((m) => Math.floor(Date.parse(m.heartbeat.serverTime) / 1000)),
        });
      }, reject);
    });
  },

  async metadata(name) {
    const requestId = `interop-${config.client}`;
    const ok = await call(name, catalogUrl('GetDeal'), { dealId: config.live_deal_id },
      { headers: [`x-request-id: ${requestId}`], verbose: true });
    const failed = await call(name, catalogUrl('GetDeal'), { dealId: unknownDealId }, { verbose: true });
    const okHeaders = verboseHeaders(ok.stderr);
    const failedHeaders = verboseHeaders(failed.stderr);
    // A trailers-only response (an error before any message) carries the status in its only header block.
    const detailsBin = failedHeaders.trailers['grpc-status-details-bin']
      ?? failedHeaders.response['grpc-status-details-bin'];
    const status = detailsBin ? decodeStatus(types, Buffer.from(detailsBin, 'base64')) : {};
    return {
      code: ok.code,
      request_id: okHeaders.response['x-request-id'],
      stock_source: okHeaders.trailers['flashdeal-stock-source'],
      error_code: failed.code,
      status_code: status.status_code,
      reason: status.reason,
    };
  },

  // A new buf process (connection) makes the next call: buf curl makes one call per process.
  async oversized(name) {
    const request = { email: 'big@flashdeal.test', password: 'interop-big-password', displayName: 'x'.repeat(5 << 20) };
    const r = await call(name, url(config.auth, 'flashdeal.auth.v1.AuthService/SignUp'), request, { stdin: true });
    const next = await call(name, url(config.auth, 'flashdeal.auth.v1.AuthService/GetJwks'), {});
    return { ...printedError(r), next_code: next.code };
  },

  // buf curl has no flag to compress requests; it accepts gzip responses, and this one is large enough to get one.
  async gzip(name) {
    const r = await call(name, catalogUrl('ListProducts'), { pageSize: 100, query: config.product_query },
      { verbose: true });
    const { request, response } = verboseHeaders(r.stderr);
    return {
      code: r.code,
      stderr: r.code === 0 ? undefined : r.stderr.slice(-2000),
      products: jsonDocuments(r.stdout)[0]?.products.length,
      request_encoding: request['grpc-encoding'] ?? null,
      request_accept_encoding: request['grpc-accept-encoding'],
      response_encoding: response['grpc-encoding'] ?? null,
    };
  },

  // Watches the live deal (one long buf process), places an order with another buf process after the first
  // snapshot, and stops the watch once a snapshot shows less stock.
  watch_deal(name) {
    return new Promise((resolve, reject) => {
      let snapshots = [];
      let ordering = null;
      let stopped = false;
      const watch = startBufCurl(['--schema', config.schema, '--emit-defaults', '--timeout', '60s',
        '-H', `x-interop-case: ${config.client}/${name}`, catalogUrl('WatchDeal'), '-d',
        JSON.stringify({ dealId: config.live_deal_id })], {
        onStdout(stdout) {
          // --emit-defaults prints the unset field of each message as null: a heartbeat has "snapshot": null.
          snapshots = jsonDocuments(stdout).map((m) => m.snapshot).filter(Boolean);
          if (snapshots.length >= 1 && !ordering) {
            const request = { dealId: config.live_deal_id, quantity: 1, idempotencyKey: `interop-${config.client}-watch` };
            ordering = call(name, ordersUrl('PlaceOrder'), request, { headers: [bearer()] });
          }
          const last = snapshots[snapshots.length - 1];
          if (!stopped && snapshots.length >= 2 && last.remainingStock < snapshots[0].remainingStock) {
            stopped = true;
            watch.stop();
          }
        },
      });
      watch.done.then(async (r) => {
        const order = ordering ? await ordering : null;
        resolve({
          code: stopped ? undefined : r.code,
          stderr: stopped ? undefined : r.stderr.slice(-2000),
          remaining: snapshots.map((s) => s.remainingStock),
          versions: snapshots.map((s) => s.version),
          order_code: order ? order.code : null,
        });
      }, reject);
    });
  },
});

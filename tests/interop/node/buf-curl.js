'use strict';
// Interop cases against the FlashDeal gRPC runtime with `buf curl` (connect-go's gRPC client), which learns every
// schema through server reflection. Usage: node buf-curl.js <address>. Prints one JSON line per case.
const { spawn } = require('node:child_process');
const { hostPort, runCases, decodeDetails } = require('./lib/common');

const bufShim = require.resolve('@bufbuild/buf/bin/buf');
const base = `http://${hostPort(process.argv[2] || '127.0.0.1:50051')}`;
const echo = `${base}/flashdeal.testing.v1.EchoService`;

/** Runs `buf curl --protocol grpc ... args`; resolves {exit, code, stdout, stderr}. buf exits with the gRPC code << 3. */
function bufCurl(args, stdin) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bufShim, 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', ...args]);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (exit) => resolve({ exit, code: exit >= 8 ? exit >> 3 : exit === 0 ? 0 : null, stdout, stderr }));
    child.stdin.end(stdin || '');
  });
}

/** buf prints each response message as a JSON document, one after another. */
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

/** From `-v` output, the request headers, response headers and trailers of the call to `path` (lower-case names). */
function verboseHeaders(stderr, path) {
  const lines = stderr.split('\n');
  const post = lines.find((l) => l.includes(`POST ${path}`));
  const stream = post.match(/\(#(\d+)\)/)[1];
  const request = {};
  const response = {};
  const trailers = {};
  let section = 0; // 0 headers, 1 body, 2 trailers
  for (const line of lines) {
    const m = line.match(new RegExp(`^buf: ([<>]) \\(#${stream}\\) ?(.*)$`));
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

const caseHeader = (name) => ['-H', `x-interop-case: ${name}`];
const base64 = (text) => Buffer.from(text, 'base64').toString('base64');

runCases({
  async unary(name) {
    const r = await bufCurl([...caseHeader(name), `${echo}/Echo`, '-d', '{"message":"hello"}']);
    return { code: r.code, message: jsonDocuments(r.stdout)[0]?.message };
  },

  async error_details(name) {
    const request = { code: 9, message: 'sold out: café 100%', reason: 'SOLD_OUT', field: 'quantity' };
    const r = await bufCurl([...caseHeader(name), `${echo}/Fail`, '-d', JSON.stringify(request)]);
    const printed = jsonDocuments(r.stderr)[0];
    const details = printed.details.map((d) => ({ type: d.type, value: Buffer.from(d.value, 'base64') }));
    return { code: r.code, code_name: printed.code, message: printed.message, ...decodeDetails(details) };
  },

  async deadline(name) {
    // --timeout bounds the whole command, reflection included, so it is longer than the other clients' 200 ms
    // deadline; buf sends what is left as grpc-timeout. On a loaded machine reflection alone can use up the 500 ms, and
    // then buf gives up before the call is sent (no gRPC status printed, nothing reaches the server): that attempt says
    // nothing about deadlines, so it is repeated (at most three attempts). A call that was sent is never repeated.
    for (let attempt = 1; ; attempt++) {
      const started = Date.now();
      const r = await bufCurl([...caseHeader(name), '--timeout', '500ms', `${echo}/Sleep`, '-d', '{"delayMs":2000}']);
      const printed = jsonDocuments(r.stderr)[0];
      if (printed?.code !== undefined || attempt === 3) {
        return { code: r.code, code_name: printed?.code, elapsed_ms: Date.now() - started, attempts: attempt };
      }
    }
  },

  async metadata(name) {
    const r = await bufCurl([...caseHeader(name), '-v', '-H', 'echo-text: hi', '-H', 'echo-data-bin: AAEC/w==',
      `${echo}/Echo`, '-d', '{"message":"meta"}']);
    const { response, trailers } = verboseHeaders(r.stderr, '/flashdeal.testing.v1.EchoService/Echo');
    return {
      code: r.code,
      header_text: response['echo-text'],
      header_bin: base64(response['echo-data-bin'] || ''),
      trailer_text: trailers['trailer-echo-text'],
      trailer_bin: base64(trailers['trailer-echo-data-bin'] || ''),
    };
  },

  async oversized(name) {
    const body = Buffer.alloc(4 * 1024 * 1024 + 1).toString('base64');
    const r = await bufCurl([...caseHeader(name), `${echo}/Payload`, '-d', '@-'], JSON.stringify({ body }));
    const printed = jsonDocuments(r.stderr)[0];
    return { code: r.code, code_name: printed?.code, message: printed?.message };
  },

  // buf curl has no flag to compress requests; it accepts gzip responses, which this host sends.
  async gzip(name) {
    const r = await bufCurl([...caseHeader(name), '-v', `${echo}/Payload`, '-d', '{"responseSize":123457}']);
    const { request, response } = verboseHeaders(r.stderr, '/flashdeal.testing.v1.EchoService/Payload');
    const body = jsonDocuments(r.stdout)[0]?.body || '';
    return {
      code: r.code,
      request_encoding: request['grpc-encoding'] || null,
      request_accept_encoding: request['grpc-accept-encoding'],
      response_encoding: response['grpc-encoding'] || null,
      response_body_size: Buffer.from(body, 'base64').length,
    };
  },

  async server_streaming(name) {
    const r = await bufCurl([...caseHeader(name), `${echo}/Expand`, '-d', '{"message":"x","count":5}']);
    return { code: r.code, messages: jsonDocuments(r.stdout).map((m) => m.message) };
  },

  async reflection() {
    const services = await bufCurl(['--list-services', base]);
    const methods = await bufCurl(['--list-methods', base]);
    const v1alpha = await bufCurl(['--reflect-protocol', 'grpc-v1alpha', '--list-services', base]);
    const lines = (text) => text.split('\n').filter((l) => l.length > 0);
    return {
      code: services.code,
      services: lines(services.stdout),
      methods: lines(methods.stdout),
      v1alpha_services: lines(v1alpha.stdout),
    };
  },

  async health_check(name) {
    const overall = await bufCurl([...caseHeader(name), `${base}/grpc.health.v1.Health/Check`, '-d', '{}']);
    const unknown = await bufCurl([...caseHeader(name), `${base}/grpc.health.v1.Health/Check`,
      '-d', '{"service":"no.such.Service"}']);
    return { code: overall.code, status: jsonDocuments(overall.stdout)[0]?.status, unknown_code: unknown.code };
  },

  // Watch never ends on its own: the first message arrives, then the client's timeout ends the call.
  async health_watch(name) {
    const r = await bufCurl([...caseHeader(name), '--timeout', '1s', `${base}/grpc.health.v1.Health/Watch`, '-d', '{}']);
    return { first_status: jsonDocuments(r.stdout)[0]?.status, code: r.code };
  },
});

'use strict';
// Interop cases against the FlashDeal gRPC runtime with @grpc/grpc-js (an independent client implementation).
// Usage: node grpc-js.js <address>. Prints one JSON line per case; the xunit test asserts them.
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const descriptor = require('protobufjs/ext/descriptor');
const { protoDirs, hostPort, runCases, decodeStatusDetails } = require('./lib/common');

const loaderOptions = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const definition = protoLoader.loadSync(
  ['flashdeal/testing/v1/echo.proto', 'grpc/health/v1/health.proto', 'grpc/reflection/v1/reflection.proto'],
  { ...loaderOptions, includeDirs: protoDirs });
const proto = grpc.loadPackageDefinition(definition);

const address = hostPort(process.argv[2] || '127.0.0.1:50051');
const credentials = grpc.credentials.createInsecure();
const echo = new proto.flashdeal.testing.v1.EchoService(address, credentials);
// CompressionAlgorithms.gzip = 2: every request message on this channel is gzip-compressed.
const gzipEcho = new proto.flashdeal.testing.v1.EchoService(address, credentials,
  { 'grpc.default_compression_algorithm': 2 });
const health = new proto.grpc.health.v1.Health(address, credentials);
const reflection = new proto.grpc.reflection.v1.ServerReflection(address, credentials);

const caseMetadata = (name) => {
  const metadata = new grpc.Metadata();
  metadata.set('x-interop-case', name);
  return metadata;
};

/** Promise form of a unary call; resolves {code, message, response, error}. */
function unary(client, method, request, metadata, options = {}) {
  return new Promise((resolve) => {
    client[method](request, metadata, options, (error, response) => resolve(error
      ? { code: error.code, message: error.details, error }
      : { code: grpc.status.OK, response }));
  });
}

const binaryValue = Buffer.from([0, 1, 2, 255]);

runCases({
  async unary(name) {
    const { code, response } = await unary(echo, 'Echo', { message: 'hello' }, caseMetadata(name));
    return { code, message: response && response.message };
  },

  async error_details(name) {
    const request = { code: 9, message: 'sold out: café 100%', reason: 'SOLD_OUT', field: 'quantity' };
    const { code, message, error } = await unary(echo, 'Fail', request, caseMetadata(name));
    const details = error.metadata.get('grpc-status-details-bin');
    return { code, message, ...(details.length ? decodeStatusDetails(details[0]) : {}) };
  },

  async deadline(name) {
    const started = Date.now();
    const { code } = await unary(echo, 'Sleep', { delay_ms: 2000, message: 'late' }, caseMetadata(name),
      { deadline: Date.now() + 200 });
    return { code, elapsed_ms: Date.now() - started };
  },

  metadata(name) {
    const metadata = caseMetadata(name);
    metadata.set('echo-text', 'hi');
    metadata.set('echo-data-bin', binaryValue);
    return new Promise((resolve) => {
      const result = {};
      const call = echo.Echo({ message: 'meta' }, metadata, (error) => {
        result.code = error ? error.code : grpc.status.OK;
      });
      call.on('metadata', (headers) => {
        result.header_text = headers.get('echo-text')[0];
        result.header_bin = Buffer.from(headers.get('echo-data-bin')[0]).toString('base64');
      });
      call.on('status', (status) => {
        result.trailer_text = status.metadata.get('trailer-echo-text')[0];
        result.trailer_bin = Buffer.from(status.metadata.get('trailer-echo-data-bin')[0]).toString('base64');
        resolve(result);
      });
    });
  },

  async oversized(name) {
    const body = Buffer.alloc(4 * 1024 * 1024 + 1);
    const { code, message } = await unary(echo, 'Payload', { body }, caseMetadata(name));
    return { code, message };
  },

  async gzip(name) {
    const body = Buffer.alloc(123457, 'a');
    const { code, response, message } = await unary(gzipEcho, 'Payload', { body }, caseMetadata(name));
    return { code, message, received_size: response && response.received_size };
  },

  server_streaming(name) {
    return new Promise((resolve) => {
      const messages = [];
      const call = echo.Expand({ message: 'x', count: 5 }, caseMetadata(name));
      call.on('data', (m) => messages.push(m.message));
      call.on('error', (e) => resolve({ code: e.code, messages }));
      call.on('status', (s) => { if (s.code === grpc.status.OK) resolve({ code: s.code, messages }); });
    });
  },

  reflection() {
    return new Promise((resolve, reject) => {
      const call = reflection.ServerReflectionInfo();
      const answers = [];
      call.on('data', (answer) => {
        answers.push(answer);
        if (answers.length === 2) {
          call.end();
        }
      });
      call.on('error', reject);
      call.on('end', () => {
        const services = answers[0].list_services_response.service.map((s) => s.name);
        const files = answers[1].file_descriptor_response.file_descriptor_proto
          .map((bytes) => descriptor.FileDescriptorProto.decode(bytes));
        // The files must be enough for grpc-js tooling to build a client from reflection alone.
        const set = descriptor.FileDescriptorSet.encode({ file: files }).finish();
        const reflected = grpc.loadPackageDefinition(protoLoader.loadFileDescriptorSetFromBuffer(set, loaderOptions));
        const client = new reflected.flashdeal.testing.v1.EchoService(address, credentials);
        client.Echo({ message: 'via reflection' }, (error, response) => {
          client.close();
          resolve({
            services,
            files: files.map((f) => f.name),
            reflected_echo: error ? String(error) : response.message,
          });
        });
      });
      call.write({ host: '', list_services: '' });
      call.write({ host: '', file_containing_symbol: 'flashdeal.testing.v1.EchoService' });
    });
  },

  async health_check(name) {
    const overall = await unary(health, 'Check', { service: '' }, caseMetadata(name));
    const unknown = await unary(health, 'Check', { service: 'no.such.Service' }, caseMetadata(name));
    return { code: overall.code, status: overall.response && overall.response.status, unknown_code: unknown.code };
  },

  health_watch(name) {
    return new Promise((resolve) => {
      const call = health.Watch({ service: '' }, caseMetadata(name));
      call.on('data', (m) => {
        resolve({ first_status: m.status });
        call.cancel();
      });
      call.on('error', (e) => resolve({ code: e.code, error: e.details }));
    });
  },
}).finally(() => {
  for (const client of [echo, gzipEcho, health, reflection]) {
    client.close();
  }
});

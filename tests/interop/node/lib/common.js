'use strict';
// Shared by the Node interop drivers: repository paths, address parsing, result printing, status-details decoding.
const path = require('node:path');
const protobuf = require('protobufjs');

const repoRoot = path.resolve(__dirname, '..', '..', '..', '..');
const protoDirs = [path.join(repoRoot, 'protos'), path.join(repoRoot, 'tests', 'protos')];

/** Accepts "http://127.0.0.1:5000/" or "127.0.0.1:5000" and returns "127.0.0.1:5000". */
function hostPort(address) {
  return address.replace(/^https?:\/\//, '').replace(/\/+$/, '');
}

/** Runs each case in turn and prints one JSON line per case; a thrown error becomes {"error": ...}. */
async function runCases(cases) {
  for (const [name, run] of Object.entries(cases)) {
    let result;
    try {
      result = await run(name);
    } catch (e) {
      result = { error: String(e && e.stack ? e.stack : e) };
    }
    process.stdout.write(JSON.stringify({ case: name, ...result }) + '\n');
  }
}

let rpcRoot;
function rpcTypes() {
  if (!rpcRoot) {
    rpcRoot = new protobuf.Root();
    rpcRoot.resolvePath = (origin, target) => path.join(protoDirs[0], target);
    rpcRoot.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { keepCase: true });
  }
  return rpcRoot;
}

/** Decodes grpc-status-details-bin (a google.rpc.Status) into {reason, domain, field, types}. */
function decodeStatusDetails(bytes) {
  const root = rpcTypes();
  const status = root.lookupType('google.rpc.Status').decode(bytes);
  return decodeDetails(status.details.map((any) => ({ type: any.type_url.split('/').pop(), value: any.value })));
}

/** Decodes [{type: 'google.rpc.ErrorInfo', value: bytes}] into the fields the interop tests check. */
function decodeDetails(details) {
  const root = rpcTypes();
  const result = { types: details.map((d) => d.type) };
  for (const detail of details) {
    const message = root.lookupType(detail.type).decode(detail.value);
    if (detail.type === 'google.rpc.ErrorInfo') {
      result.reason = message.reason;
      result.domain = message.domain;
    } else if (detail.type === 'google.rpc.BadRequest') {
      result.field = message.field_violations[0].field;
    }
  }
  return result;
}

module.exports = { repoRoot, protoDirs, hostPort, runCases, decodeStatusDetails, decodeDetails };

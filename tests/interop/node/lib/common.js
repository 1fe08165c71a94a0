'use strict';
// Shared by the Node interop drivers: the run's configuration, the schema (a binary FileDescriptorSet the xunit
// fixture writes from the services' own descriptors), result printing and google.rpc.Status decoding.
const fs = require('node:fs');
const protobuf = require('protobufjs');
require('protobufjs/ext/descriptor'); // adds Root.fromDescriptor

/**
 * The run's configuration (argv[2], a JSON file): client, auth/catalog/orders ("127.0.0.1:port"), schema (path),
 * live_deal_id, upcoming_deal_id, access_token (the customer's), product_query (matches every product),
 * short_deadline_ms.
 */
function loadConfig() {
  if (!process.argv[2]) {
    throw new Error(`usage: node ${process.argv[1]} <config.json>`);
  }
  return JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
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

/** protobufjs types of every message in the schema file (for google.rpc.* details). */
function schemaTypes(schemaFile) {
  return protobuf.Root.fromDescriptor(fs.readFileSync(schemaFile));
}

/**
 * Decodes grpc-status-details-bin (a google.rpc.Status) into {status_code, status_message, types, reason, domain,
 * fields}: the details' type names, ErrorInfo's reason and domain, and BadRequest's field names.
 */
function decodeStatus(types, bytes) {
  const status = types.lookupType('google.rpc.Status').decode(bytes);
  return { status_code: status.code, status_message: status.message, ...decodeDetails(types, status.details) };
}

/** Decodes google.protobuf.Any details ({type_url, value}) into {types, reason, domain, fields}. */
function decodeDetails(types, details) {
  const result = { types: [] };
  for (const any of details) {
    const typeName = any.type_url.split('/').pop();
    result.types.push(typeName);
    const detail = types.lookupType(typeName).decode(any.value);
    if (typeName === 'google.rpc.ErrorInfo') {
      result.reason = detail.reason;
      result.domain = detail.domain;
    } else if (typeName === 'google.rpc.BadRequest') {
      result.fields = detail.field_violations.map((v) => v.field);
    }
  }
  return result;
}

module.exports = { loadConfig, runCases, schemaTypes, decodeStatus, decodeDetails };

#!/usr/bin/env node
// grpc-js interop client: runs each case against a controlplane server and prints one JSON line
// per case ({case, ok, detail}). Exit code 1 when any case failed.
// Usage: node interop-client.js HOST:PORT PROTO_ROOT [case ...]
'use strict';

const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const [address, protoRoot, ...only] = process.argv.slice(2);
if (!address || !protoRoot) {
  console.error('usage: node interop-client.js HOST:PORT PROTO_ROOT [case ...]');
  process.exit(2);
}

const loaderOptions = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoRoot] };
const files = [
  'controlplane/v1/diagnostics.proto',
  'grpc/health/v1/health.proto',
  'grpc/reflection/v1/reflection.proto',
  'grpc/reflection/v1alpha/reflection.proto',
];
const defs = grpc.loadPackageDefinition(protoLoader.loadSync(files, loaderOptions));

const NON_ASCII = 'Überlastet – 过载';
const EXPECTED_SERVICES = [
  'controlplane.v1.Admin',
  'controlplane.v1.Diagnostics',
  'controlplane.v1.Routing',
  'grpc.health.v1.Health',
  'grpc.reflection.v1.ServerReflection',
  'grpc.reflection.v1alpha.ServerReflection',
];

const insecure = grpc.credentials.createInsecure();
// Every call carries the credential from CONTROLPLANE_API_KEY (authorization: Bearer ...), when set.
const apiKey = process.env.CONTROLPLANE_API_KEY;
const authorize = (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
  start(metadata, listener, next) {
    if (apiKey) metadata.set('authorization', `Bearer ${apiKey}`);
    next(metadata, listener);
  },
});
const withAuth = { interceptors: [authorize] };
const diagnostics = new defs.controlplane.v1.Diagnostics(address, insecure, withAuth);
const gzipDiagnostics = new defs.controlplane.v1.Diagnostics(address, insecure, { 'grpc.default_compression_algorithm': 2, ...withAuth });
const health = new defs.grpc.health.v1.Health(address, insecure, withAuth);
const reflectionV1 = new defs.grpc.reflection.v1.ServerReflection(address, insecure, withAuth);
const reflectionV1alpha = new defs.grpc.reflection.v1alpha.ServerReflection(address, insecure, withAuth);
const generic = new grpc.Client(address, insecure, withAuth);

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function deadline(ms) {
  return new Date(Date.now() + ms);
}

// Resolves once the status (with trailers) arrived, which grpc-js reports after the response callback.
function unary(client, method, request, options = {}, metadata = new grpc.Metadata()) {
  return new Promise((resolve, reject) => {
    const result = {};
    let error = null;
    const call = client[method](request, metadata, { deadline: deadline(10000), ...options }, (err, response) => {
      error = err;
      result.response = response;
    });
    call.on('metadata', (md) => { result.headers = md; });
    call.on('status', (status) => {
      result.trailers = status.metadata;
      setImmediate(() => (error ? reject(error) : resolve(result)));
    });
  });
}

function expectStatus(promise, code) {
  return promise.then(
    () => { throw new Error(`expected status ${code} but the call succeeded`); },
    (err) => {
      check(err.code === code, `expected status ${code}, got ${err.code}: ${err.details}`);
      return err;
    });
}

function readAll(call) {
  return new Promise((resolve, reject) => {
    const messages = [];
    call.on('data', (m) => messages.push(m));
    call.on('error', reject);
    call.on('end', () => resolve(messages));
  });
}

function reflectionList(client) {
  return new Promise((resolve, reject) => {
    const call = client.ServerReflectionInfo({ deadline: deadline(10000) });
    call.on('data', (response) => {
      call.end();
      resolve(response);
    });
    call.on('error', reject);
    call.write({ host: '', list_services: '' });
  });
}

const cases = {
  async unary() {
    const payload = Buffer.from([0, 1, 2, 253, 254, 255]);
    const { response } = await unary(diagnostics, 'Echo', { message: 'hello from grpc-js', payload });
    check(response.message === 'hello from grpc-js', `message ${response.message}`);
    check(Buffer.compare(response.payload, payload) === 0, 'payload differs');
    return `echoed ${response.message}`;
  },

  async server_streaming() {
    const call = diagnostics.EchoStream({ message: 'tick', count: 5 }, { deadline: deadline(10000) });
    const messages = await readAll(call);
    const sequences = messages.map((m) => m.sequence);
    check(JSON.stringify(sequences) === '[0,1,2,3,4]', `sequences ${JSON.stringify(sequences)}`);
    check(messages.every((m) => m.message === 'tick' && m.count === 5), 'bad message fields');
    return `${messages.length} messages`;
  },

  async client_streaming() {
    const response = await new Promise((resolve, reject) => {
      const call = diagnostics.Collect({ deadline: deadline(10000) }, (err, r) => (err ? reject(err) : resolve(r)));
      for (const part of ['a', 'b', 'c', 'd']) call.write({ message: part });
      call.end();
    });
    check(response.message === 'abcd' && response.count === 4, `got ${response.message}/${response.count}`);
    return `collected ${response.message}`;
  },

  async bidi() {
    const call = diagnostics.Chat({ deadline: deadline(10000) });
    const words = ['ping', 'pong', 'done'];
    const received = [];
    await new Promise((resolve, reject) => {
      call.on('data', (m) => {
        received.push(m);
        // The next request goes out only after the previous answer arrived: both directions are live.
        if (received.length < words.length) call.write({ message: words[received.length] });
        else call.end();
      });
      call.on('error', reject);
      call.on('end', resolve);
      call.write({ message: words[0] });
    });
    check(JSON.stringify(received.map((m) => m.message)) === JSON.stringify(words), 'answers differ');
    check(JSON.stringify(received.map((m) => m.sequence)) === '[0,1,2]', 'sequences differ');
    return `${received.length} round trips`;
  },

  async deadline_exceeded() {
    const err = await expectStatus(unary(diagnostics, 'Echo', { message: 'slow', delay_ms: 5000 }, { deadline: deadline(300) }),
      grpc.status.DEADLINE_EXCEEDED);
    return err.details;
  },

  async non_ascii_status() {
    const err = await expectStatus(unary(diagnostics, 'Echo', { respond_with_status: 14, status_message: NON_ASCII }),
      grpc.status.UNAVAILABLE);
    check(err.details === NON_ASCII, `details ${JSON.stringify(err.details)}`);
    return err.details;
  },

  async unknown_method() {
    const serialize = (b) => b;
    const deserialize = (b) => b;
    const call = (path) => new Promise((resolve, reject) => {
      generic.makeUnaryRequest(path, serialize, deserialize, Buffer.alloc(0), new grpc.Metadata(), { deadline: deadline(10000) },
        (err, r) => (err ? reject(err) : resolve(r)));
    });
    await expectStatus(call('/controlplane.v1.Diagnostics/NoSuchMethod'), grpc.status.UNIMPLEMENTED);
    const err = await expectStatus(call('/no.such.Service/Echo'), grpc.status.UNIMPLEMENTED);
    return err.details;
  },

  async gzip() {
    const message = 'compress me '.repeat(200);
    const payload = Buffer.alloc(16 * 1024, 7);
    const { response } = await unary(gzipDiagnostics, 'Echo', { message, payload });
    check(response.message === message, 'message differs');
    check(Buffer.compare(response.payload, payload) === 0, 'payload differs');
    const streamed = await readAll(gzipDiagnostics.EchoStream({ message: 'z'.repeat(1000), count: 3 }, { deadline: deadline(10000) }));
    check(streamed.length === 3 && streamed.every((m) => m.message.length === 1000), 'streamed gzip responses differ');
    return 'gzip request and responses round-tripped';
  },

  async metadata() {
    const md = new grpc.Metadata();
    md.set('x-tenant', 'acme');
    md.set('x-trace-bin', Buffer.from([0, 1, 2, 255]));
    const { headers, trailers } = await unary(diagnostics, 'Echo', { message: 'md', echo_metadata: ['x-tenant', 'x-trace-bin'] }, {}, md);
    check(headers.get('x-tenant')[0] === 'acme', `header x-tenant ${headers.get('x-tenant')}`);
    check(Buffer.compare(headers.get('x-trace-bin')[0], Buffer.from([0, 1, 2, 255])) === 0, 'header x-trace-bin differs');
    check(trailers.get('x-tenant')[0] === 'acme', 'trailer x-tenant missing');
    check(Buffer.compare(trailers.get('x-trace-bin')[0], Buffer.from([0, 1, 2, 255])) === 0, 'trailer x-trace-bin differs');
    return 'ascii and -bin metadata echoed in headers and trailers';
  },

  async health_check() {
    const { response } = await unary(health, 'Check', { service: '' });
    check(response.status === 'SERVING', `status ${response.status}`);
    await expectStatus(unary(health, 'Check', { service: 'no.such.Service' }), grpc.status.NOT_FOUND);
    return response.status;
  },

  async health_watch() {
    const status = await new Promise((resolve, reject) => {
      const call = health.Watch({ service: '' }, { deadline: deadline(10000) });
      call.on('data', (m) => {
        resolve(m.status);
        call.cancel();
      });
      call.on('error', (err) => { if (err.code !== grpc.status.CANCELLED) reject(err); });
    });
    check(status === 'SERVING', `status ${status}`);
    return status;
  },

  async reflection_v1() {
    const response = await reflectionList(reflectionV1);
    const names = response.list_services_response.service.map((s) => s.name).sort();
    check(JSON.stringify(names) === JSON.stringify(EXPECTED_SERVICES), `services ${names}`);
    return names.join(',');
  },

  async reflection_v1alpha() {
    const response = await reflectionList(reflectionV1alpha);
    const names = response.list_services_response.service.map((s) => s.name).sort();
    check(JSON.stringify(names) === JSON.stringify(EXPECTED_SERVICES), `services ${names}`);
    return names.join(',');
  },
};

async function main() {
  const selected = only.length ? only : Object.keys(cases);
  let failed = 0;
  for (const name of selected) {
    const run = cases[name];
    let line;
    if (!run) {
      line = { case: name, ok: false, detail: 'unknown case' };
    } else {
      try {
        line = { case: name, ok: true, detail: String(await run()) };
      } catch (err) {
        line = { case: name, ok: false, detail: err && err.code !== undefined ? `status ${err.code}: ${err.details}` : String(err && err.stack || err) };
      }
    }
    if (!line.ok) failed++;
    process.stdout.write(JSON.stringify(line) + '\n');
  }
  for (const c of [diagnostics, gzipDiagnostics, health, reflectionV1, reflectionV1alpha, generic]) c.close();
  process.exitCode = failed ? 1 : 0;
}

main().catch((err) => {
  console.error(err);
  process.exit(2);
});

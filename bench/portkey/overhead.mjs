// Latency the Portkey gateway adds to one request, against a direct call to the same simulator endpoint in the same
// run (interleaved: direct, gateway, direct, ...), sequential, keep-alive, after a warm-up.
//   node bench/portkey/overhead.mjs --upstreams FILE --endpoint ID --gateway http://127.0.0.1:PORT [--n 1000] [--warmup 100]
// Start the simulator with --latency-scale 0 so the endpoint answers at once: what remains is transport + gateway.
// Prints one JSON line: p50/p95/p99 in ms for direct, gateway and their difference (gateway - direct, per quantile).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) {
    if (fallback === undefined) throw new Error(`--${name} is required`);
    return fallback;
  }
  return process.argv[i + 1];
}

const upstreams = JSON.parse(readFileSync(arg('upstreams'), 'utf8')).endpoints;
const endpointId = arg('endpoint');
const gateway = new URL(arg('gateway'));
const n = Number.parseInt(arg('n', '1000'), 10);
const warmup = Number.parseInt(arg('warmup', '100'), 10);
if (!Number.isInteger(n) || n < 10 || n > 100000) throw new Error('--n must be 10..100000');
if (!Number.isInteger(warmup) || warmup < 0 || warmup > 10000) throw new Error('--warmup must be 0..10000');
if (!['127.0.0.1', 'localhost', '[::1]'].includes(gateway.hostname)) throw new Error('--gateway must be a loopback URL');
const upstream = upstreams[endpointId];
if (!upstream) throw new Error(`endpoint ${endpointId} is not in the upstreams file`);
if (upstream.api !== 'openai') throw new Error('pick an openai-shaped endpoint (the direct call speaks /v1/chat/completions)');

const config = JSON.stringify({
  retry: { attempts: 0 },
  provider: 'openai',
  api_key: 'simulator-no-key',
  custom_host: `${upstream.url.replace(/\/$/, '')}/v1`,
  override_params: { model: upstream.model },
});
const body = (i) => JSON.stringify({ model: upstream.model, max_tokens: 16, messages: [{ role: 'user', content: `overhead ${i}` }] });

async function timed(url, headers, i) {
  const start = performance.now();
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: body(i) });
  await response.arrayBuffer();
  const ms = performance.now() - start;
  if (response.status !== 200) throw new Error(`${url}: HTTP ${response.status}`);
  return ms;
}

const directUrl = `${upstream.url.replace(/\/$/, '')}/v1/chat/completions`;
const gatewayUrl = new URL('v1/chat/completions', gateway).toString();
const direct = [];
const viaGateway = [];
for (let i = 0; i < warmup + n; i++) {
  const d = await timed(directUrl, {}, i);
  const g = await timed(gatewayUrl, { 'x-portkey-config': config }, i);
  if (i >= warmup) {
    direct.push(d);
    viaGateway.push(g);
  }
}

const q = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(p * s.length) - 1)];
};
const round = (x) => Math.round(x * 1000) / 1000;
const summary = (xs) => ({ p50: round(q(xs, 0.5)), p95: round(q(xs, 0.95)), p99: round(q(xs, 0.99)) });
const d = summary(direct);
const g = summary(viaGateway);
console.log(JSON.stringify({
  endpoint: endpointId,
  n,
  direct_ms: d,
  portkey_ms: g,
  added_ms: { p50: round(g.p50 - d.p50), p95: round(g.p95 - d.p95), p99: round(g.p99 - d.p99) },
}));

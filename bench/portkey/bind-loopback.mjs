// Preloaded into the Portkey gateway process (`node --import ./bind-loopback.mjs ...`, see gateway.sh).
//
// @portkey-ai/gateway 1.15.2 has no host option: build/start-server.js calls @hono/node-server's
// serve({ fetch, port }) and serve() calls server.listen(port, undefined, cb), which binds every interface
// (src/start-server.ts in Portkey-AI/gateway v1.15.2). This module rewrites the host of every TCP listen in the
// process to a loopback address BEFORE the socket is bound, so the gateway is never reachable from another
// machine, not even briefly. It refuses any non-loopback host, and after binding it checks the bound address
// (exits the process otherwise) and prints one line `portkey-listening <address>:<port>` on stdout, which the
// launchers (gateway.sh, ControlPlane.Drills' PortkeyGateway) wait for.
import net from 'node:net';

const loopback = new Set(['127.0.0.1', '::1']);
const host = process.env.PORTKEY_BIND_HOST || '127.0.0.1';
if (!loopback.has(host)) {
  console.error(`bind-loopback: PORTKEY_BIND_HOST=${host} is not a loopback address (127.0.0.1 or ::1)`);
  process.exit(78);
}

const originalListen = net.Server.prototype.listen;

function isPort(value) {
  return typeof value === 'number' || (typeof value === 'string' && /^\d+$/.test(value));
}

net.Server.prototype.listen = function listenOnLoopback(...args) {
  const first = args[0];
  if (isPort(first)) {
    // listen(port[, host][, backlog][, callback])
    if (args.length >= 2 && (typeof args[1] === 'string' || args[1] === undefined || args[1] === null)) {
      args[1] = host;
    } else {
      args.splice(1, 0, host);
    }
  } else if (first !== null && typeof first === 'object' && !('_handle' in first) && !('fd' in first) && first.path === undefined) {
    // listen(options[, callback]) with a TCP port
    args[0] = { ...first, host };
  } else if (first === undefined || typeof first === 'function') {
    // listen([callback]): a random port on every interface by default
    args.unshift(0, host);
  } else {
    // A pipe path or an inherited handle: not a network listener the gateway opens; refuse rather than guess.
    throw new Error('bind-loopback: refusing a listen() on a handle or pipe');
  }

  this.once('listening', () => {
    const bound = this.address();
    if (bound === null || typeof bound !== 'object' || !loopback.has(bound.address)) {
      console.error(`bind-loopback: bound to ${JSON.stringify(bound)}, not loopback; exiting`);
      process.exit(70);
    }
    const shown = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
    process.stdout.write(`portkey-listening ${shown}:${bound.port}\n`);
  });
  return originalListen.apply(this, args);
};

// PORTKEY_EXIT_WITH_PARENT=1 (set by the drill's launcher, which keeps the write end of our stdin): exit when stdin
// reaches its end, i.e. when the parent process is gone, even killed with SIGKILL, so no replica outlives its drill.
if (process.env.PORTKEY_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}

/**
 * Refuses any TCP connect off this machine, whoever asks, and records the attempt: the belt and braces of
 * test/integration/hostile.test.ts. It traps its own process with trapOutboundConnects(); the worker's
 * courier (src/courier), which makes the email and HTTP connects, gets it through NODE_OPTIONS
 * `--require <this file>`, and appends each refused host to the file FORGE_TEST_CONNECT_TRAP names.
 *
 * Plain JavaScript so that `--require` loads it without a TypeScript hook.
 */
const net = require('node:net');
const { appendFileSync } = require('node:fs');

function isLoopback(host) {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\./.test(host) || /^::ffff:127\./i.test(host);
}

/** Patches net.Socket#connect; returns the function that restores it. */
function trapOutboundConnects(onRefused) {
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (...args) {
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    let host;
    let path;
    if (first && typeof first === 'object') {
      host = first.host;
      path = first.path;
    } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
      host = typeof args[1] === 'string' ? args[1] : undefined;
    } else if (typeof first === 'string') {
      path = first;
    }
    if (!path && host !== undefined && !isLoopback(host)) {
      onRefused(host);
      throw new Error(`test trap: refused a connect to non-loopback ${host}`);
    }
    return original.apply(this, args);
  };
  return () => {
    net.Socket.prototype.connect = original;
  };
}

module.exports = { trapOutboundConnects, isLoopback };

// Preloaded into a courier: the test sets the variable only after it has loaded this file itself. The
// first line says the trap is in place, so the test knows an empty record means "nothing tried".
if (process.env.FORGE_TEST_CONNECT_TRAP) {
  const file = process.env.FORGE_TEST_CONNECT_TRAP;
  appendFileSync(file, `# trapped pid ${process.pid}\n`);
  trapOutboundConnects((host) => appendFileSync(file, `${host}\n`));
}

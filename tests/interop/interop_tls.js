// Interop over TCP with mutual TLS: grpc-js (its own TLS stack, Node's
// OpenSSL) against crishim's gRPC core SSL server. With the client
// certificate Version and grpc.health.v1 Check answer; without one, or with
// one from another CA, the handshake is refused; plaintext is refused too.
'use strict';
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [addr, protoDir, certs] = process.argv.slice(2);
const opts = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir] };
const v1 = grpc.loadPackageDefinition(loader.loadSync(path.join(protoDir, 'runtime/v1/api.proto'), opts)).runtime.v1;
const health = grpc.loadPackageDefinition(
  loader.loadSync(path.join(protoDir, 'grpc/health/v1/health.proto'), opts)).grpc.health.v1;
const read = (f) => fs.readFileSync(path.join(certs, f));

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exitCode = 1;
  } else {
    console.log(`ok: ${what}`);
  }
}

function call(client, method, req) {
  return new Promise((resolve) => {
    client[method](req, { deadline: new Date(Date.now() + 5000) }, (err, resp) => resolve({ err, resp }));
  });
}

function creds(ca, client) {
  return client ? grpc.credentials.createSsl(read(ca), read(`${client}.key`), read(`${client}.crt`))
    : grpc.credentials.createSsl(read(ca));
}

(async () => {
  const ok = new v1.RuntimeService(addr, creds('ca.crt', 'client'));
  const v = await call(ok, 'Version', {});
  check(!v.err && v.resp.runtime_name === 'crishim', `mTLS Version (${v.err ? v.err.message : v.resp.runtime_name})`);
  const hc = new health.Health(addr, creds('ca.crt', 'client'));
  const h = await call(hc, 'Check', { service: '' });
  check(!h.err && h.resp.status === 'SERVING', `mTLS health Check (${h.err ? h.err.message : h.resp.status})`);
  ok.close();
  hc.close();

  for (const [what, c] of [['no client certificate', creds('ca.crt', null)],
    ['a certificate from another CA', creds('ca.crt', 'other-client')],
    ['plaintext', grpc.credentials.createInsecure()]]) {
    const cl = new v1.RuntimeService(addr, c);
    const r = await call(cl, 'Version', {});
    check(r.err && r.err.code === grpc.status.UNAVAILABLE, `${what} is refused (${r.err ? r.err.message : 'answered!'})`);
    cl.close();
  }
  console.log(process.exitCode ? 'mTLS interop failed' : 'mTLS interop passed');
})();

// Interop check: grpc-js, loading crishim's proto/ files at run time, calls a
// running crishim over its unix socket. Proves the wire against a gRPC stack
// that shares no code with crishim's (grpc core + protobuf-c).
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const [socket, protoDir] = process.argv.slice(2);
const def = loader.loadSync(path.join(protoDir, 'runtime/v1/api.proto'), {
  keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir],
});
const v1 = grpc.loadPackageDefinition(def).runtime.v1;
const rt = new v1.RuntimeService(`unix:${socket}`, grpc.credentials.createInsecure());
const images = new v1.ImageService(`unix:${socket}`, grpc.credentials.createInsecure());

function call(client, method, req) {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](req, { deadline }, (err, resp) => resolve({ err, resp }));
  });
}

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exitCode = 1;
  } else {
    console.log(`ok: ${what}`);
  }
}

(async () => {
  const v = await call(rt, 'Version', { version: '0.1.0' });
  check(!v.err, `Version answers (${v.err ? v.err.message : 'OK'})`);
  check(v.resp && v.resp.runtime_api_version === 'v1', 'runtime_api_version is v1');
  check(v.resp && v.resp.runtime_name === 'crishim', 'runtime_name is crishim');

  const s = await call(rt, 'Status', { verbose: true });
  check(!s.err, `Status answers (${s.err ? s.err.message : 'OK'})`);
  const conds = s.resp ? s.resp.status.conditions : [];
  check(conds.some((c) => c.type === 'RuntimeReady' && c.status === true), 'RuntimeReady is true');
  check(conds.some((c) => c.type === 'NetworkReady'), 'NetworkReady is reported');
  check(s.resp && s.resp.info && JSON.parse(s.resp.info.engine).backend === 'docker', 'verbose info is JSON');

  const u = await call(rt, 'CheckpointContainer', { container_id: 'x' });
  check(u.err && u.err.code === grpc.status.UNIMPLEMENTED, `unimplemented RPC gives UNIMPLEMENTED (${u.err && u.err.code})`);

  rt.close();
  images.close();
  console.log(process.exitCode ? '0 passed, 1 failed' : '1 passed, 0 failed');
})();

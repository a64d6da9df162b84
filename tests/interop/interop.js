// Interop check: grpc-js, loading crishim's proto/ files at run time, calls a
// running crishim over its unix socket. Proves the wire against a gRPC stack
// that shares no code with crishim's (grpc core + protobuf-c). Then an exec
// through the streaming server with the `ws` WebSocket client, the way
// kubectl's WebSocket executor speaks v5.channel.k8s.io.
'use strict';
const path = require('path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const WebSocket = require('ws');

const [socket, protoDir, busybox, logDir] = process.argv.slice(2);
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

// Frames of channel.k8s.io: one leading channel byte per binary message.
function wsExec(url, stdin) {
  return new Promise((resolve) => {
    const out = { 1: '', 2: '', 3: '' };
    const ws = new WebSocket(url, ['v5.channel.k8s.io']);
    ws.on('open', () => {
      ws.send(Buffer.concat([Buffer.from([0]), Buffer.from(stdin)]));
      ws.send(Buffer.from([255, 0])); // v5: close stdin
    });
    ws.on('message', (data) => {
      const ch = data[0];
      out[ch] = (out[ch] || '') + data.subarray(1).toString();
    });
    ws.on('close', () => resolve({ out, protocol: ws.protocol }));
    ws.on('error', (err) => resolve({ err, out }));
  });
}

async function websocketExec() {
  const pulled = await call(images, 'PullImage', { image: { image: busybox } });
  check(!pulled.err, `PullImage ${busybox} (${pulled.err ? pulled.err.message : 'OK'})`);
  const podConfig = {
    metadata: { name: 'interop', namespace: 'test', uid: `interop-${process.pid}` },
    log_directory: `${logDir}/${process.pid}`,
    linux: {},
  };
  const pod = await call(rt, 'RunPodSandbox', { config: podConfig });
  check(!pod.err, `RunPodSandbox (${pod.err ? pod.err.message : 'OK'})`);
  if (pod.err) return;
  const podId = pod.resp.pod_sandbox_id;
  const created = await call(rt, 'CreateContainer', {
    pod_sandbox_id: podId,
    sandbox_config: podConfig,
    config: { metadata: { name: 'sh' }, image: { image: busybox }, command: ['sleep', '600'], log_path: 'sh.log' },
  });
  check(!created.err, `CreateContainer (${created.err ? created.err.message : 'OK'})`);
  if (!created.err) {
    const id = created.resp.container_id;
    await call(rt, 'StartContainer', { container_id: id });
    const ex = await call(rt, 'Exec', {
      container_id: id, cmd: ['sh', '-c', 'cat; echo oops >&2; exit 9'], stdin: true, stdout: true, stderr: true,
    });
    check(!ex.err && /^http:\/\/127\.0\.0\.1:\d+\/exec\//.test(ex.resp.url), `Exec gives a URL (${ex.err ? ex.err.message : ex.resp.url})`);
    if (!ex.err) {
      const r = await wsExec(ex.resp.url.replace(/^http/, 'ws'), 'through ws\n');
      check(!r.err && r.protocol === 'v5.channel.k8s.io', `ws negotiates v5.channel.k8s.io (${r.err || r.protocol})`);
      check(r.out[1] === 'through ws\n', `stdin comes back on stdout (${JSON.stringify(r.out[1])})`);
      check(r.out[2] === 'oops\n', `stderr on channel 2 (${JSON.stringify(r.out[2])})`);
      let status = {};
      try { status = JSON.parse(r.out[3]); } catch (e) { /* checked below */ }
      const cause = status.details && status.details.causes && status.details.causes[0];
      check(status.status === 'Failure' && status.reason === 'NonZeroExitCode' && cause && cause.reason === 'ExitCode' &&
            cause.message === '9', `exit code 9 in the Status object (${r.out[3]})`);
      const again = await wsExec(ex.resp.url.replace(/^http/, 'ws'), '');
      check(again.err && /404/.test(String(again.err.message)), `the URL works once (${again.err && again.err.message})`);
    }
  }
  await call(rt, 'StopPodSandbox', { pod_sandbox_id: podId });
  const rm = await call(rt, 'RemovePodSandbox', { pod_sandbox_id: podId });
  check(!rm.err, 'RemovePodSandbox');
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
  check(s.resp && s.resp.info && JSON.parse(s.resp.info.engine).backend === (process.env.CRISHIM_TEST_BACKEND || 'docker'), 'verbose info is JSON and names the backend');

  const u = await call(rt, 'CheckpointContainer', { container_id: 'x' });
  check(u.err && u.err.code === grpc.status.UNIMPLEMENTED, `unimplemented RPC gives UNIMPLEMENTED (${u.err && u.err.code})`);

  await websocketExec();

  rt.close();
  images.close();
  console.log(process.exitCode ? '0 passed, 1 failed' : '1 passed, 0 failed');
})();

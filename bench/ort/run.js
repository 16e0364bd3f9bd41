// run.js — ONNX Runtime's CPU execution provider on a job written by bench/compare_ort.py:
// loads one .onnx file, runs each listed input set (warmup + timed runs, or once to save the
// output for the agreement check) and prints one JSON result on stdout.
// Usage: node bench/ort/run.js JOB.json   |   node bench/ort/run.js --probe
'use strict';
const fs = require('fs');

function loadOrt() {
  // Resolved from bench/ort/node_modules (installed by compare_ort.py with --ignore-scripts).
  const ort = require('onnxruntime-node');
  const backends = ort.listSupportedBackends().filter((b) => b.bundled).map((b) => b.name);
  if (!backends.includes('cpu'))
    throw new Error(`onnxruntime-node has no bundled CPU backend (bundled: ${backends.join(', ')})`);
  return ort;
}

// A raw little-endian file as a typed array of the input's element type (copied, so aligned).
function readTensor(ort, spec) {
  const buf = fs.readFileSync(spec.file);
  const bytes = new Uint8Array(buf.length);
  bytes.set(buf);
  const data = spec.type === 'int64' ? new BigInt64Array(bytes.buffer) : new Float32Array(bytes.buffer);
  return new ort.Tensor(spec.type, data, spec.dims);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

async function runJob(ort, job) {
  const options = {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
  };
  let t0 = nowMs();
  const session = await ort.InferenceSession.create(job.model, options);
  const result = {versions: ort.env.versions, threads: job.threads, load_ms: nowMs() - t0,
                  inputs: session.inputNames, outputs: session.outputNames, runs: []};
  for (const run of job.runs) {
    const feeds = {};
    for (const [name, spec] of Object.entries(run.inputs))
      feeds[name] = readTensor(ort, spec);
    const rec = {label: run.label, batch: run.batch};
    if (run.save) {
      const out = (await session.run(feeds))[job.output];
      fs.writeFileSync(run.save, Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength));
      rec.dims = out.dims;
    } else {
      for (let i = 0; i < job.warmup; i++)
        await session.run(feeds);
      const times = [];
      for (let i = 0; i < job.iters; i++) {
        t0 = nowMs();
        await session.run(feeds);
        times.push(nowMs() - t0);
      }
      Object.assign(rec, {ms_per_batch: median(times), ms_min: Math.min(...times),
                          ms_max: Math.max(...times), items_per_s: run.batch / median(times) * 1000});
    }
    result.runs.push(rec);
  }
  return result;
}

async function main() {
  const ort = loadOrt();
  if (process.argv[2] === '--probe') {
    // require() above loaded the native binding (libonnxruntime.so) and loadOrt() found its
    // bundled CPU backend; every timing job then creates a CPU session on a real model.
    new ort.Tensor('float32', new Float32Array(4), [2, 2]);
    console.log(JSON.stringify({versions: ort.env.versions,
                                backends: ort.listSupportedBackends()}));
    return;
  }
  const job = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  console.log(JSON.stringify(await runJob(ort, job)));
}

main().catch((e) => {
  console.error(`ort run.js: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});

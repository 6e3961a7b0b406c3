// Runs static/occlusion.js under Node for the tests: node occlusion_runner.js JOBS.json RESULTS.json
// JOBS.json: [{kind: "map", program, input: base64 of little-endian float32, options}, {kind: "spearman", a, b},
// {kind: "defaults", sizes: [[h, w], ...]}, {kind: "positions", cases: [[size, window, stride], ...]},
// {kind: "chunked", program, input, options}]; RESULTS.json: one result per job.
"use strict";
const fs = require("fs");
const path = require("path");
const occlusion = require(path.join(__dirname, "../../src/cnnlab/publish/static/occlusion.js"));

const floats = (base64) => {
  const bytes = Buffer.from(base64, "base64");
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
};
const plain = (found) => ({ ...found, map: Array.from(found.map) });

async function runJob(job) {
  if (job.kind === "map") return plain(occlusion.occlusionMap(job.program, floats(job.input), job.options));
  if (job.kind === "chunked") {
    // a job cancelled at once gives null; a second one, run one pass per slice (sliceMs 0), the whole map
    const stale = occlusion.start(job.program, floats(job.input), job.options);
    stale.cancel();
    let slices = 0;
    const fresh = occlusion.start(job.program, floats(job.input), job.options, { sliceMs: 0, onProgress: () => { slices += 1; } });
    const [cancelled, found] = await Promise.all([stale.promise, fresh.promise]);
    return { cancelled, slices, ...plain(found) };
  }
  if (job.kind === "spearman") {
    const rho = occlusion.spearman(job.a, job.b);
    return { rho: Number.isNaN(rho) ? null : rho, words: occlusion.correlationWords(rho) };
  }
  if (job.kind === "defaults") return job.sizes.map(([h, w]) => occlusion.defaultOcclusion(h, w));
  if (job.kind === "positions") return job.cases.map(([size, window, stride]) => occlusion.positions(size, window, stride));
  if (job.kind === "error") {
    try {
      occlusion.occlusionMap(job.program, floats(job.input), job.options);
      return { error: null };
    } catch (error) {
      return { error: error.message };
    }
  }
  throw new Error(`unknown job ${job.kind}`);
}

(async () => {
  const jobs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  const results = [];
  for (const job of jobs) results.push(await runJob(job));
  fs.writeFileSync(process.argv[3], JSON.stringify(results));
})();

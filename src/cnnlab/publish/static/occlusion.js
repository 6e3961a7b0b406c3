// cnnlab's occlusion saliency in plain JavaScript (Zeiler and Fergus 2014, Sec. 4.2), as
// cnnlab.inspection.saliency.occlusion_map computes it: a square slid over the normalised input and filled with
// 0 (the training images' mean), and at each pixel the mean, over the squares that hide it, of the drop of
// softmax(logits / temperature)[target]. It needs nothing but forward passes (forward.js: cnnlabForward).
//
// The passes run in slices of a few milliseconds, each followed by a yield to the event loop, so that a page
// stays responsive while ResNet-20's 169 passes run; a job is cancelled when its input is stale. In a page:
// globalThis.cnnlabOcclusion; under Node: require("./occlusion.js") (it then requires ./forward.js and
// ./prepare.js itself).

(function (root, factory) {
  const load = (name, file) => root[name] || (typeof require === "function" ? require(file) : null);
  const api = factory(load("cnnlabForward", "./forward.js"), load("cnnlabPrepare", "./prepare.js"));
  if (typeof module === "object" && module.exports) module.exports = api;
  root.cnnlabOcclusion = api;
})(typeof globalThis !== "undefined" ? globalThis : this, function (forward, prepare) {
  "use strict";

  const FILL = 0; // the value that hides a square, in every channel of the normalised input: the training mean
  const SLICE_MS = 12; // a slice of passes between two yields: well under a frame, so strokes still paint

  const { roundHalfEven } = prepare; // Python's round(), halves to even, as default_occlusion rounds

  /** default_occlusion: a quarter of the shorter side, moved a sixteenth at a time (8 by 2 on 32x32). */
  function defaultOcclusion(height, width) {
    const side = Math.min(height, width);
    return { window: Math.max(1, roundHalfEven(side / 4)), stride: Math.max(1, roundHalfEven(side / 16)) };
  }

  /** occlusion_positions: 0, stride, ..., and the last place that fits when the steps miss it. */
  function positions(size, window, stride) {
    const starts = [];
    for (let start = 0; start <= size - window; start += stride) starts.push(start);
    if (starts[starts.length - 1] !== size - window) starts.push(size - window);
    return starts;
  }

  function softmax(logits, temperature) {
    let top = -Infinity;
    for (const v of logits) top = Math.max(top, v / temperature);
    const e = Array.from(logits, (v) => Math.exp(v / temperature - top));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / total);
  }

  function argmax(values) {
    let best = 0;
    for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
    return best;
  }

  function checkSize(name, value) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a whole number of at least 1, got ${value}`);
    return value;
  }

  /**
   * A job: the occlusion map of `program` on `input` (Float32Array C*H*W, normalised), computed by step().
   * options: target (a class index; default the predicted one), window and stride (default defaultOcclusion),
   * temperature (default 1), fill (default 0).
   */
  function createJob(program, input, options = {}) {
    const [channels, height, width] = program.input.shape;
    const fallback = defaultOcclusion(height, width);
    const window = checkSize("window", options.window ?? fallback.window);
    const stride = checkSize("stride", options.stride ?? fallback.stride);
    if (window > Math.min(height, width)) {
      throw new RangeError(`an occlusion window of ${window} does not fit the ${height}x${width} input`);
    }
    const temperature = options.temperature || 1;
    const fill = options.fill ?? FILL;
    const pass = (x) => forward.run(program, x, { keep: [] }).output;
    const probabilities = softmax(pass(input), temperature);
    const predicted = argmax(probabilities);
    const target = options.target ?? predicted;
    if (!Number.isInteger(target) || target < 0 || target >= probabilities.length) {
      throw new RangeError(`target must be a class index from 0 to ${probabilities.length - 1}, got ${target}`);
    }
    const rows = positions(height, window, stride);
    const cols = positions(width, window, stride);
    const places = rows.flatMap((top) => cols.map((left) => [top, left]));
    const total = new Float64Array(height * width);
    const covered = new Float64Array(height * width);
    const hidden = new Float32Array(input.length);
    let done = 0;

    function occlude(top, left) {
      hidden.set(input);
      for (let c = 0; c < channels; c++) {
        for (let y = top; y < top + window; y++) hidden.fill(fill, (c * height + y) * width + left, (c * height + y) * width + left + window);
      }
      const drop = probabilities[target] - softmax(pass(hidden), temperature)[target];
      for (let y = top; y < top + window; y++) {
        for (let x = left; x < left + window; x++) {
          total[y * width + x] += drop;
          covered[y * width + x] += 1;
        }
      }
    }

    const job = {
      height, width, window, stride, fill, target, predicted, probabilities, places: places.length,
      get done() {
        return done;
      },
      /** Runs passes until `deadline` (performance.now() milliseconds) or the end; true when every one ran. */
      step(deadline = Infinity) {
        while (done < places.length) {
          occlude(places[done][0], places[done][1]);
          done += 1;
          if (now() >= deadline) break;
        }
        return done === places.length;
      },
      /** The map (H*W, row-major): the mean drop over the squares that hid each pixel. */
      map() {
        const map = new Float64Array(height * width);
        for (let i = 0; i < map.length; i++) map[i] = total[i] / covered[i];
        return map;
      },
    };
    return job;
  }

  const now = () => (typeof performance !== "undefined" ? performance.now() : Date.now());

  /** The whole map at once (tests, scripts): {map, height, width, window, stride, target, probability, ...}. */
  function occlusionMap(program, input, options = {}) {
    const job = createJob(program, input, options);
    job.step();
    return result(job);
  }

  function result(job) {
    return {
      map: job.map(), height: job.height, width: job.width, window: job.window, stride: job.stride, fill: job.fill,
      target: job.target, probability: job.probabilities[job.target], predicted: job.predicted,
      probabilities: job.probabilities, passes: job.places + 1,
    };
  }

  // A yield to the event loop that is not clamped to 4 ms as nested timeouts are: a message to oneself.
  let channel = null;
  const waiting = [];

  function yieldToLoop() {
    if (typeof MessageChannel === "undefined") return new Promise((resolve) => setTimeout(resolve, 0));
    if (channel === null) {
      channel = new MessageChannel();
      channel.port1.onmessage = () => {
        waiting.shift()();
        if (waiting.length === 0 && channel.port1.unref) channel.port1.unref(); // Node: an idle port lets it exit
      };
    }
    return new Promise((resolve) => {
      waiting.push(resolve);
      if (channel.port1.ref) channel.port1.ref();
      channel.port2.postMessage(null);
    });
  }

  /**
   * The map computed a slice at a time with a yield after each: {promise, cancel()}. The promise gives the map
   * (as occlusionMap) or null once cancelled; onProgress(done, total) is called after each slice.
   */
  function start(program, input, options = {}, { onProgress, sliceMs = SLICE_MS } = {}) {
    let cancelled = false;
    const promise = (async () => {
      await yieldToLoop(); // the caller paints first
      if (cancelled) return null;
      const job = createJob(program, input, options);
      for (;;) {
        const finished = job.step(now() + sliceMs);
        if (onProgress && !cancelled) onProgress(job.done, job.places);
        if (finished) return cancelled ? null : result(job);
        await yieldToLoop();
        if (cancelled) return null;
      }
    })();
    return { promise, cancel: () => { cancelled = true; } };
  }

  // ---------------------------------------------------------------------------------------------
  // The sanity check (Adebayo et al. 2018): Spearman's rank correlation of two maps, pixel by pixel

  /** Ranks from 1, ties given their mean rank (scipy.stats.rankdata's "average"). */
  function ranks(values) {
    const order = Array.from(values, (v, i) => i).sort((a, b) => values[a] - values[b]);
    const found = new Float64Array(values.length);
    for (let i = 0; i < order.length;) {
      let j = i;
      while (j + 1 < order.length && values[order[j + 1]] === values[order[i]]) j += 1;
      const rank = (i + j) / 2 + 1;
      for (let k = i; k <= j; k++) found[order[k]] = rank;
      i = j + 1;
    }
    return found;
  }

  function pearson(a, b) {
    const n = a.length;
    let ma = 0;
    let mb = 0;
    for (let i = 0; i < n; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= n;
    mb /= n;
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let i = 0; i < n; i++) {
      ab += (a[i] - ma) * (b[i] - mb);
      aa += (a[i] - ma) ** 2;
      bb += (b[i] - mb) ** 2;
    }
    return ab / Math.sqrt(aa * bb);
  }

  const constant = (values) => values.every((v) => v === values[0]);

  /** rank_correlation: Spearman's rho of two maps (scipy's spearmanr), NaN where a map is constant. */
  function spearman(first, second) {
    const a = Array.from(first);
    const b = Array.from(second);
    if (a.length !== b.length) throw new RangeError(`the maps have ${a.length} and ${b.length} values`);
    if (a.length < 2 || constant(a) || constant(b)) return NaN;
    return Math.max(-1, Math.min(1, pearson(ranks(a), ranks(b))));
  }

  /** Saliency.correlation_words: what a rank correlation with the random-weights twin's map says. */
  function correlationWords(rho) {
    if (Number.isNaN(rho)) return "undefined (a map is constant)";
    if (rho <= -0.3) return "negative: random weights rank the pixels the other way round, so the map is not theirs";
    if (rho < 0.3) return "low: the map depends on what the network learned";
    if (rho < 0.6) return "moderate: part of the map would be there without training";
    return "high: the map would look much the same with random weights; it shows the image and the architecture";
  }

  return {
    FILL, defaultOcclusion, positions, softmax, createJob, occlusionMap, start, ranks, spearman, correlationWords,
    roundHalfEven,
  };
});

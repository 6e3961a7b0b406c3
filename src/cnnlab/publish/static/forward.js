// cnnlab's forward pass in plain JavaScript: runs a Program (docs/publish.md), the network as a list of
// operations that cnnlab.publish.to_program wrote, and gives the numbers PyTorch gives.
//
// No dependencies, no build step. In a page: <script src="forward.js"> and globalThis.cnnlabForward.run(...);
// under Node: require("./forward.js").run(...).
//
// Tensors are {shape, data}: shape without the batch axis (C, H, W for maps, N for vectors), data a
// Float32Array in row-major order (channel, then row, then column). Sums are taken in double precision.

(function (root, factory) {
  const api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  root.cnnlabForward = api;
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  const FORMAT = "cnnlab-program/1";

  // ---------------------------------------------------------------------------------------------
  // Parameters: base64 of little-endian float32 or float16, decoded once per program.

  function bytesOf(base64) {
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  // IEEE 754 half precision: 1 sign bit, 5 exponent bits (bias 15), 10 fraction bits.
  function halfToFloat(bits) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24; // subnormal
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  }

  function decodeTensor(encoded) {
    const view = new DataView(bytesOf(encoded.data).buffer);
    const count = encoded.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(count);
    if (encoded.dtype === "float16") {
      for (let i = 0; i < count; i++) data[i] = halfToFloat(view.getUint16(2 * i, true));
    } else if (encoded.dtype === "float32") {
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
    } else {
      throw new Error(`unknown parameter dtype ${encoded.dtype}`);
    }
    return { shape: encoded.shape, data };
  }

  const decoded = new WeakMap();

  function parametersOf(program) {
    let parameters = decoded.get(program);
    if (!parameters) {
      parameters = new Map();
      for (const [name, encoded] of Object.entries(program.parameters)) parameters.set(name, decodeTensor(encoded));
      decoded.set(program, parameters);
    }
    return parameters;
  }

  const size = (shape) => shape.reduce((a, b) => a * b, 1);

  // ---------------------------------------------------------------------------------------------
  // Convolutions: ~95% of ResNet-20's forward pass under Node, hence the fast paths. The input is padded once,
  // so that every window lies inside it and no inner loop tests a bound; each pass over the accumulator adds a
  // whole kernel (9 taps for 3x3), not one tap or one kernel row, since V8 does not vectorise and the loads
  // and stores of the accumulator cost as much as the products; 3x3 kernels go two output maps at a time. The
  // accumulator is a Float64Array: double-precision sums, no slower in V8 than float32 ones (a Float32Array
  // accumulator was up to 1.3x slower: it converts on every load and store).

  // Scratch buffers, reused by every operation: nothing is allocated per convolution but its output.
  let scratchPadded = new Float32Array(0);
  const scratchSums = [new Float64Array(0), new Float64Array(0)];

  // The k-th scratch accumulator (k = 0, 1), at least n long.
  function sums(n, k = 0) {
    if (scratchSums[k].length < n) scratchSums[k] = new Float64Array(n);
    return scratchSums[k];
  }

  // The input with its zero border (Hp x Wp per map), in the scratch buffer; x's own data without padding.
  function padded(x, ph, pw) {
    const [C, H, W] = x.shape;
    if (ph === 0 && pw === 0) return x.data;
    const Hp = H + 2 * ph;
    const Wp = W + 2 * pw;
    if (scratchPadded.length < C * Hp * Wp) scratchPadded = new Float32Array(C * Hp * Wp);
    const out = scratchPadded;
    out.fill(0, 0, C * Hp * Wp);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) out.set(x.data.subarray((c * H + i) * W, (c * H + i + 1) * W), (c * Hp + i + ph) * Wp + pw);
    }
    return out;
  }

  // One kernel (kh x kw taps at weights[at..], rows rowGap apart in xp, columns colGap apart) over a run of n
  // outputs: acc[a + i] += sum_{u,v} w[u, v] xp[start + i*step + u*rowGap + v*colGap].
  function addKernel(acc, a, n, xp, start, step, weights, at, kh, kw, rowGap, colGap) {
    if (kh === 3 && kw === 3) {
      const w0 = weights[at], w1 = weights[at + 1], w2 = weights[at + 2];
      const w3 = weights[at + 3], w4 = weights[at + 4], w5 = weights[at + 5];
      const w6 = weights[at + 6], w7 = weights[at + 7], w8 = weights[at + 8];
      const r1 = rowGap, r2 = 2 * rowGap, c1 = colGap, c2 = 2 * colGap;
      for (let i = a, j = start, end = a + n; i < end; i++, j += step) {
        acc[i] += w0 * xp[j] + w1 * xp[j + c1] + w2 * xp[j + c2]
          + w3 * xp[j + r1] + w4 * xp[j + r1 + c1] + w5 * xp[j + r1 + c2]
          + w6 * xp[j + r2] + w7 * xp[j + r2 + c1] + w8 * xp[j + r2 + c2];
      }
    } else if (kh === 1 && kw === 1) {
      const w = weights[at];
      for (let i = a, j = start, end = a + n; i < end; i++, j += step) acc[i] += w * xp[j];
    } else {
      for (let u = 0; u < kh; u++) {
        addKernelRow(acc, a, n, xp, start + u * rowGap, step, weights, at + u * kw, kw, colGap);
      }
    }
  }

  // One row of a kernel (k taps, d apart): acc[a + i] += sum_v w[v] xp[row + i*step + v*d]. Rows of 5 taps
  // (LeNet-5) are summed in one pass.
  function addKernelRow(acc, a, n, xp, row, step, weights, at, k, d) {
    if (k === 5) {
      const w0 = weights[at], w1 = weights[at + 1], w2 = weights[at + 2], w3 = weights[at + 3], w4 = weights[at + 4];
      for (let i = a, j = row, end = a + n; i < end; i++, j += step) {
        acc[i] += w0 * xp[j] + w1 * xp[j + d] + w2 * xp[j + 2 * d] + w3 * xp[j + 3 * d] + w4 * xp[j + 4 * d];
      }
    } else {
      for (let v = 0; v < k; v++) {
        const w = weights[at + v];
        for (let i = a, j = row + v * d, end = a + n; i < end; i++, j += step) acc[i] += w * xp[j];
      }
    }
  }

  // Two output maps' 3x3 kernels (at `at` and `bt`) over the same run of the same input map: each input value
  // is loaded once for 18 products instead of 9 (~1.3x faster than two passes of addKernel).
  function addKernel3x3Pair(acc, acc2, a, n, xp, start, step, weights, at, bt, rowGap, colGap) {
    const w0 = weights[at], w1 = weights[at + 1], w2 = weights[at + 2];
    const w3 = weights[at + 3], w4 = weights[at + 4], w5 = weights[at + 5];
    const w6 = weights[at + 6], w7 = weights[at + 7], w8 = weights[at + 8];
    const v0 = weights[bt], v1 = weights[bt + 1], v2 = weights[bt + 2];
    const v3 = weights[bt + 3], v4 = weights[bt + 4], v5 = weights[bt + 5];
    const v6 = weights[bt + 6], v7 = weights[bt + 7], v8 = weights[bt + 8];
    const r1 = rowGap, r2 = 2 * rowGap, c1 = colGap, c2 = 2 * colGap;
    for (let i = a, j = start, end = a + n; i < end; i++, j += step) {
      const x0 = xp[j], x1 = xp[j + c1], x2 = xp[j + c2];
      const x3 = xp[j + r1], x4 = xp[j + r1 + c1], x5 = xp[j + r1 + c2];
      const x6 = xp[j + r2], x7 = xp[j + r2 + c1], x8 = xp[j + r2 + c2];
      acc[i] += w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3 + w4 * x4 + w5 * x5 + w6 * x6 + w7 * x7 + w8 * x8;
      acc2[i] += v0 * x0 + v1 * x1 + v2 * x2 + v3 * x3 + v4 * x4 + v5 * x5 + v6 * x6 + v7 * x7 + v8 * x8;
    }
  }

  // Where one output map's sums go, for a padded input of Hp x Wp maps. At stride 1 the map is computed Wp wide,
  // so that the whole map is one long run (its extra Wp - Wo columns per row are dropped by store); at other
  // strides, one run per output row.
  function convGeometry(op, Hp, Wp, kh, kw) {
    const [, Ho, Wo] = op.shape;
    const { stride, dilation } = op.attributes;
    const [sh, sw] = stride;
    const wide = sh === 1 && sw === 1;
    return {
      Ho, Wo, Hp, Wp, sw, kh, kw, wide,
      rowGap: dilation[0] * Wp, colGap: dilation[1],
      runs: wide ? 1 : Ho, // runs of `length` outputs, the r-th at acc[r * Wo] and xp[plane + r * inStep]
      length: wide ? (Ho - 1) * Wp + Wo : Wo,
      inStep: sh * Wp,
    };
  }

  // acc += input map `plane` of xp convolved with the kernel at weights[at..].
  function addMap(acc, xp, plane, weights, at, g) {
    for (let r = 0; r < g.runs; r++) {
      addKernel(acc, r * g.Wo, g.length, xp, plane + r * g.inStep, g.sw, weights, at, g.kh, g.kw, g.rowGap, g.colGap);
    }
  }

  // out[o] = acc, dropping the extra columns of a Wp-wide map.
  function store(out, o, acc, g) {
    const { Ho, Wo, Wp } = g;
    if (!g.wide) {
      for (let i = 0, at = o * Ho * Wo; i < Ho * Wo; i++) out[at + i] = acc[i];
      return;
    }
    for (let i = 0; i < Ho; i++) {
      for (let j = 0, at = (o * Ho + i) * Wo, from = i * Wp; j < Wo; j++) out[at + j] = acc[from + j];
    }
  }

  // Convolution (the lecture's y[o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[c, i*s + u*d - p, j*s + v*d - p]),
  // with groups: output map o reads only the input maps of its group. Loops: output map, input map, then the
  // kernel over the output's run.
  function conv2d(op, [x], { weight, bias }) {
    const [C, H, W] = x.shape;
    const [O, Ho, Wo] = op.shape;
    const { padding, groups } = op.attributes;
    const [, cin, kh, kw] = weight.shape;
    const perGroup = O / groups;
    if (C !== groups * cin) throw new Error(`${op.output}: ${C} input maps for groups of ${cin}`);
    const Hp = H + 2 * padding[0];
    const Wp = W + 2 * padding[1];
    const xp = padded(x, padding[0], padding[1]);
    const g = convGeometry(op, Hp, Wp, kh, kw);
    const n = g.wide ? g.length : Ho * Wo;
    const acc = sums(n);
    const out = new Float32Array(O * Ho * Wo);
    const pairs = kh === 3 && kw === 3 && perGroup % 2 === 0; // maps o, o + 1 then always share their inputs
    for (let o = 0; o < O; o += pairs ? 2 : 1) {
      const first = Math.floor(o / perGroup) * cin;
      acc.fill(bias ? bias.data[o] : 0, 0, n);
      if (pairs) {
        const acc2 = sums(n, 1);
        acc2.fill(bias ? bias.data[o + 1] : 0, 0, n);
        for (let ci = 0; ci < cin; ci++) {
          const plane = (first + ci) * Hp * Wp;
          const at = (o * cin + ci) * 9;
          for (let r = 0; r < g.runs; r++) {
            addKernel3x3Pair(acc, acc2, r * Wo, g.length, xp, plane + r * g.inStep, g.sw, weight.data, at, at + cin * 9,
              g.rowGap, g.colGap);
          }
        }
        store(out, o + 1, acc2, g);
      } else {
        for (let ci = 0; ci < cin; ci++) {
          addMap(acc, xp, (first + ci) * Hp * Wp, weight.data, (o * cin + ci) * kh * kw, g);
        }
      }
      store(out, o, acc, g);
    }
    return { shape: op.shape, data: out };
  }

  // LeNet-5's C3 (Table I): output map o reads only the input maps listed in connections[o], with one 5x5
  // kernel per connection; the kernels are stored map after map.
  function sparseConv2d(op, [x], { weight, bias }) {
    const [, H, W] = x.shape;
    const [O, Ho, Wo] = op.shape;
    const { connections, padding } = op.attributes;
    const [, kh, kw] = weight.shape;
    const Hp = H + 2 * padding[0];
    const Wp = W + 2 * padding[1];
    const xp = padded(x, padding[0], padding[1]);
    const g = convGeometry({ shape: op.shape, attributes: { ...op.attributes, dilation: [1, 1] } }, Hp, Wp, kh, kw);
    const n = g.wide ? g.length : Ho * Wo;
    const acc = sums(n);
    const out = new Float32Array(O * Ho * Wo);
    let kernel = 0;
    for (let o = 0; o < O; o++) {
      acc.fill(bias ? bias.data[o] : 0, 0, n);
      for (const c of connections[o]) addMap(acc, xp, c * Hp * Wp, weight.data, kernel++ * kh * kw, g);
      store(out, o, acc, g);
    }
    return { shape: op.shape, data: out };
  }

  // Transposed convolution: every input pixel spreads its kernel over the output, at stride s (the adjoint
  // of conv2d; the same as inserting s - 1 zeros between pixels and convolving with the flipped kernel).
  // weight is (C_in, C_out / groups, kH, kW).
  function convTranspose2d(op, [x], { weight, bias }) {
    const [C, H, W] = x.shape;
    const [O, Ho, Wo] = op.shape;
    const { stride, padding, dilation, groups } = op.attributes;
    const [, cout, kh, kw] = weight.shape;
    const cin = C / groups;
    const acc = new Float64Array(O * Ho * Wo);
    for (let o = 0; o < O; o++) acc.fill(bias ? bias.data[o] : 0, o * Ho * Wo, (o + 1) * Ho * Wo);
    for (let c = 0; c < C; c++) {
      const group = Math.floor(c / cin);
      for (let oc = 0; oc < cout; oc++) {
        const o = group * cout + oc;
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const w = weight.data[((c * cout + oc) * kh + u) * kw + v];
            for (let i = 0; i < H; i++) {
              const y = i * stride[0] + u * dilation[0] - padding[0];
              if (y < 0 || y >= Ho) continue;
              for (let j = 0; j < W; j++) {
                const xo = j * stride[1] + v * dilation[1] - padding[1];
                if (xo >= 0 && xo < Wo) acc[(o * Ho + y) * Wo + xo] += w * x.data[(c * H + i) * W + j];
              }
            }
          }
        }
      }
    }
    return { shape: op.shape, data: Float32Array.from(acc) };
  }

  // Locally connected: a convolution's windows without its weight sharing, one kernel per output position.
  // weight is (H_out, W_out, C_out, C_in, kH, kW), bias (C_out, H_out, W_out).
  function locallyConnected2d(op, [x], { weight, bias }) {
    const [C, H, W] = x.shape;
    const [O, Ho, Wo] = op.shape;
    const { stride, padding, dilation } = op.attributes;
    const [, , , , kh, kw] = weight.shape;
    const out = new Float32Array(O * Ho * Wo);
    for (let i = 0; i < Ho; i++) {
      for (let j = 0; j < Wo; j++) {
        for (let o = 0; o < O; o++) {
          let sum = bias ? bias.data[(o * Ho + i) * Wo + j] : 0;
          let k = ((i * Wo + j) * O + o) * C * kh * kw;
          for (let c = 0; c < C; c++) {
            for (let u = 0; u < kh; u++) {
              const y = i * stride[0] + u * dilation[0] - padding[0];
              for (let v = 0; v < kw; v++, k++) {
                const xo = j * stride[1] + v * dilation[1] - padding[1];
                if (y >= 0 && y < H && xo >= 0 && xo < W) sum += weight.data[k] * x.data[(c * H + y) * W + xo];
              }
            }
          }
          out[(o * Ho + i) * Wo + j] = sum;
        }
      }
    }
    return { shape: op.shape, data: out };
  }

  // Fully connected: y = W x + b.
  function linear(op, [x], { weight, bias }) {
    const [O, I] = weight.shape;
    const out = new Float32Array(O);
    for (let o = 0; o < O; o++) {
      let sum = bias ? bias.data[o] : 0;
      const row = o * I;
      for (let i = 0; i < I; i++) sum += weight.data[row + i] * x.data[i];
      out[o] = sum;
    }
    return { shape: op.shape, data: out };
  }

  // LeNet-5's output layer: one Euclidean RBF unit per class, y_i = sum_j (x_j - w_ij)^2.
  function rbf(op, [x], { prototypes }) {
    const [K, N] = prototypes.shape;
    const out = new Float32Array(K);
    for (let k = 0; k < K; k++) {
      let sum = 0;
      for (let j = 0; j < N; j++) {
        const d = x.data[j] - prototypes.data[k * N + j];
        sum += d * d;
      }
      out[k] = sum;
    }
    return { shape: op.shape, data: out };
  }

  // ---------------------------------------------------------------------------------------------
  // Element by element

  function map(op, x, f) {
    const out = new Float32Array(x.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]);
    return { shape: op.shape, data: out };
  }

  // max(0, a), its own loop: through map, whose f is a different function at each call, V8 does not inline it.
  function relu(op, [x]) {
    const data = x.data;
    const out = new Float32Array(data.length);
    for (let i = 0; i < out.length; i++) out[i] = data[i] > 0 ? data[i] : 0;
    return { shape: op.shape, data: out };
  }
  const sigmoid = (op, [x]) => map(op, x, (v) => 1 / (1 + Math.exp(-v))); // 1 / (1 + e^-a)
  const tanh = (op, [x]) => map(op, x, Math.tanh);
  const neg = (op, [x]) => map(op, x, (v) => -v);

  // LeNet-5's squashing function f(a) = A tanh(S a), A = 1.7159, S = 2/3 (Appendix A).
  function scaledTanh(op, [x]) {
    const { amplitude, slope } = op.attributes;
    return map(op, x, (v) => amplitude * Math.tanh(slope * v));
  }

  // Per-channel y = scale[c] x + shift[c]: a batch norm in eval mode, (x - mean) / sqrt(var + eps) * gamma + beta,
  // where it does not follow a convolution or linear layer it could be folded into.
  function affine(op, [x], { scale, shift }) {
    const C = x.shape[0];
    const plane = x.data.length / C;
    const out = new Float32Array(x.data.length);
    for (let c = 0; c < C; c++) {
      const a = scale.data[c];
      const b = shift.data[c];
      for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = a * x.data[i] + b;
    }
    return { shape: op.shape, data: out };
  }

  // The residual sum F(x) + x (He et al. 2016, Eq. 1), or any sum of same-shaped tensors.
  // Two inputs (every residual block) in one plain loop; more are summed in double precision, rounded once.
  function add(op, inputs) {
    const out = new Float32Array(size(op.shape));
    if (inputs.length === 2) {
      const a = inputs[0].data, b = inputs[1].data;
      for (let i = 0; i < out.length; i++) out[i] = a[i] + b[i];
      return { shape: op.shape, data: out };
    }
    for (let i = 0; i < out.length; i++) {
      let sum = 0;
      for (const t of inputs) sum += t.data[i];
      out[i] = sum;
    }
    return { shape: op.shape, data: out };
  }

  // Concatenation along the channel axis: the maps of each input, one after the other (an Inception module).
  function concat(op, inputs) {
    const out = new Float32Array(size(op.shape));
    let at = 0;
    for (const t of inputs) {
      out.set(t.data, at);
      at += t.data.length;
    }
    return { shape: op.shape, data: out };
  }

  // Flatten and reshape keep the data in row-major order: only the shape changes.
  const reshape = (op, [x]) => ({ shape: op.shape, data: x.data });

  // ResNet's option-A shortcut (He et al. 2016, Sec. 3.3): every stride-th pixel, and zero maps added before
  // and after the input's maps.
  function shortcutPad(op, [x]) {
    const [C, H, W] = x.shape;
    const [, Ho, Wo] = op.shape;
    const { stride, before } = op.attributes;
    const out = new Float32Array(size(op.shape));
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) out[((c + before) * Ho + i) * Wo + j] = x.data[(c * H + i * stride) * W + j * stride];
      }
    }
    return { shape: op.shape, data: out };
  }

  // Local response normalisation (Krizhevsky et al. 2012, Sec. 3.3):
  // b_c = a_c / (k + alpha * sum over the n maps around c of a_j^2)^beta, the window c - floor(n/2) .. c + floor((n-1)/2).
  function localResponseNorm(op, [x]) {
    const [C] = x.shape;
    const plane = x.data.length / C;
    const { size: n, alpha, beta, k } = op.attributes;
    const out = new Float32Array(x.data.length);
    for (let c = 0; c < C; c++) {
      const first = Math.max(0, c - Math.floor(n / 2));
      const last = Math.min(C - 1, c + Math.floor((n - 1) / 2));
      for (let p = 0; p < plane; p++) {
        let sum = 0;
        for (let j = first; j <= last; j++) sum += x.data[j * plane + p] ** 2;
        out[c * plane + p] = x.data[c * plane + p] / (k + alpha * sum) ** beta;
      }
    }
    return { shape: op.shape, data: out };
  }

  // ---------------------------------------------------------------------------------------------
  // Pooling. A window starts at i * stride - padding; the parts of it outside the map are padding (never the
  // maximum, and not counted in a mean unless count_include_pad). The output size, ceil_mode's included, is
  // the op's shape.

  // Each window of each map: calls visit(c, outIndex, y0, y1, x0, x1, fullCount) with the window clipped
  // to the map, and the count of its cells within the padded map (what count_include_pad divides by).
  function eachWindow(op, x, visit) {
    const [C, H, W] = x.shape;
    const [, Ho, Wo] = op.shape;
    const { kernel, stride, padding } = op.attributes;
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < Ho; i++) {
        const top = i * stride[0] - padding[0];
        const bottom = Math.min(top + kernel[0], H + padding[0]);
        for (let j = 0; j < Wo; j++) {
          const left = j * stride[1] - padding[1];
          const right = Math.min(left + kernel[1], W + padding[1]);
          const full = (bottom - top) * (right - left);
          visit(c, (c * Ho + i) * Wo + j, Math.max(top, 0), Math.min(bottom, H), Math.max(left, 0), Math.min(right, W),
            full, top, left);
        }
      }
    }
  }

  function windowMax(x, c, y0, y1, x0, x1) {
    const [, H, W] = x.shape;
    let best = -Infinity;
    for (let y = y0; y < y1; y++) for (let xo = x0; xo < x1; xo++) best = Math.max(best, x.data[(c * H + y) * W + xo]);
    return best;
  }

  function windowSum(x, c, y0, y1, x0, x1) {
    const [, H, W] = x.shape;
    let sum = 0;
    for (let y = y0; y < y1; y++) for (let xo = x0; xo < x1; xo++) sum += x.data[(c * H + y) * W + xo];
    return sum;
  }

  // Max pooling: the largest value of each window.
  function maxPool2d(op, [x]) {
    const out = new Float32Array(size(op.shape));
    eachWindow(op, x, (c, at, y0, y1, x0, x1) => {
      out[at] = windowMax(x, c, y0, y1, x0, x1);
    });
    return { shape: op.shape, data: out };
  }

  // Average pooling: the mean of each window.
  function avgPool2d(op, [x]) {
    const out = new Float32Array(size(op.shape));
    const includePad = op.attributes.count_include_pad;
    eachWindow(op, x, (c, at, y0, y1, x0, x1, full) => {
      const count = includePad ? full : (y1 - y0) * (x1 - x0);
      out[at] = count > 0 ? windowSum(x, c, y0, y1, x0, x1) / count : 0;
    });
    return { shape: op.shape, data: out };
  }

  const perChannel = (values, c) => (values.data.length === 1 ? values.data[0] : values.data[c]);

  // Mixed max-average pooling (Lee et al. 2016, Sec. 2.1): a max + (1 - a) mean, a learned (one, or one per map).
  function mixedPool2d(op, [x], { mix }) {
    const out = new Float32Array(size(op.shape));
    eachWindow(op, x, (c, at, y0, y1, x0, x1) => {
      const a = perChannel(mix, c);
      const mean = windowSum(x, c, y0, y1, x0, x1) / ((y1 - y0) * (x1 - x0));
      out[at] = a * windowMax(x, c, y0, y1, x0, x1) + (1 - a) * mean;
    });
    return { shape: op.shape, data: out };
  }

  // Gated max-average pooling (Lee et al. 2016, Sec. 2.2): the mix comes from the region itself,
  // a = sigmoid(w . region + b), with the gate's mask w shared by all maps (or one per map).
  function gatedPool2d(op, [x], { gate_weight: gateWeight, gate_bias: gateBias }) {
    const [, H, W] = x.shape;
    const [kh, kw] = op.attributes.kernel;
    const shared = gateBias.data.length === 1;
    const out = new Float32Array(size(op.shape));
    eachWindow(op, x, (c, at, y0, y1, x0, x1, full, top, left) => {
      const g = shared ? 0 : c;
      let z = gateBias.data[g];
      for (let y = y0; y < y1; y++) {
        for (let xo = x0; xo < x1; xo++) z += gateWeight.data[(g * kh + y - top) * kw + xo - left] * x.data[(c * H + y) * W + xo];
      }
      const a = 1 / (1 + Math.exp(-z));
      const mean = windowSum(x, c, y0, y1, x0, x1) / ((y1 - y0) * (x1 - x0));
      out[at] = a * windowMax(x, c, y0, y1, x0, x1) + (1 - a) * mean;
    });
    return { shape: op.shape, data: out };
  }

  // Learned-norm pooling (Gulcehre et al. 2014): (mean over the region of |x|^p)^(1/p), p learned (>= 1),
  // computed as peak * (mean of (|x| / peak)^p)^(1/p), peak the region's largest |x|, so that no power overflows.
  function lpPool2d(op, [x], { p: exponents }) {
    const [, H, W] = x.shape;
    const out = new Float32Array(size(op.shape));
    eachWindow(op, x, (c, at, y0, y1, x0, x1) => {
      const p = perChannel(exponents, c);
      let peak = 0;
      for (let y = y0; y < y1; y++) for (let xo = x0; xo < x1; xo++) peak = Math.max(peak, Math.abs(x.data[(c * H + y) * W + xo]));
      if (peak === 0) return; // out[at] stays 0
      let sum = 0;
      for (let y = y0; y < y1; y++) for (let xo = x0; xo < x1; xo++) sum += (Math.abs(x.data[(c * H + y) * W + xo]) / peak) ** p;
      out[at] = peak * (sum / ((y1 - y0) * (x1 - x0))) ** (1 / p);
    });
    return { shape: op.shape, data: out };
  }

  // LeNet's trainable sub-sampling (Sec. II-B): the sum of each k x k region times a coefficient, plus a bias,
  // one coefficient and one bias per map. A remainder row or column is left out.
  function subsampling(op, [x], { weight, bias }) {
    const [C, Ho, Wo] = op.shape;
    const k = op.attributes.kernel;
    const out = new Float32Array(size(op.shape));
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) {
          const sum = windowSum(x, c, i * k, i * k + k, j * k, j * k + k);
          out[(c * Ho + i) * Wo + j] = sum * weight.data[c] + bias.data[c];
        }
      }
    }
    return { shape: op.shape, data: out };
  }

  // Adaptive (and global) average pooling: output cell i averages input rows floor(i H / Ho) .. ceil((i+1) H / Ho).
  function adaptiveAvgPool2d(op, [x]) {
    const [C, H, W] = x.shape;
    const [Ho, Wo] = op.attributes.output_size;
    const out = new Float32Array(C * Ho * Wo);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < Ho; i++) {
        const y0 = Math.floor((i * H) / Ho);
        const y1 = Math.ceil(((i + 1) * H) / Ho);
        for (let j = 0; j < Wo; j++) {
          const x0 = Math.floor((j * W) / Wo);
          const x1 = Math.ceil(((j + 1) * W) / Wo);
          out[(c * Ho + i) * Wo + j] = windowSum(x, c, y0, y1, x0, x1) / ((y1 - y0) * (x1 - x0));
        }
      }
    }
    return { shape: op.shape, data: out };
  }

  const OPERATIONS = {
    conv2d, sparse_conv2d: sparseConv2d, conv_transpose2d: convTranspose2d, locally_connected2d: locallyConnected2d,
    linear, rbf, relu, sigmoid, tanh, neg, scaled_tanh: scaledTanh, affine, add, concat, flatten: reshape, reshape,
    shortcut_pad: shortcutPad, local_response_norm: localResponseNorm, max_pool2d: maxPool2d, avg_pool2d: avgPool2d,
    mixed_pool2d: mixedPool2d, gated_pool2d: gatedPool2d, lp_pool2d: lpPool2d, subsampling,
    adaptive_avg_pool2d: adaptiveAvgPool2d,
  };

  // ---------------------------------------------------------------------------------------------
  // The program

  // After which operation each tensor is read for the last time, so that the others can be let go.
  function lastUses(program) {
    const last = new Map();
    program.operations.forEach((op, index) => op.inputs.forEach((name) => last.set(name, index)));
    return last;
  }

  // Runs program on input (a Float32Array of C*H*W values, already normalised as the network expects).
  // keep: the names of the tensors to return besides the output (default: program.layers), or true for all.
  // Returns {output: Float32Array, tensors: Map name -> {shape, data}}.
  function run(program, input, { keep } = {}) {
    if (program.format !== FORMAT) throw new Error(`not a ${FORMAT} program: ${program.format}`);
    const inputShape = program.input.shape;
    if (input.length !== size(inputShape)) throw new Error(`input has ${input.length} values, ${inputShape.join("x")} expected`);
    const parameters = parametersOf(program);
    const kept = keep === true ? null : new Set(keep || program.layers);
    const last = lastUses(program);
    const live = new Map([[program.input.name, { shape: inputShape, data: Float32Array.from(input) }]]);
    const tensors = new Map();
    program.operations.forEach((op, index) => {
      const compute = OPERATIONS[op.op];
      if (!compute) throw new Error(`${op.output}: unknown operation ${op.op}`);
      const inputs = op.inputs.map((name) => live.get(name));
      const params = {};
      for (const [role, name] of Object.entries(op.parameters)) params[role] = parameters.get(name);
      const result = compute(op, inputs, params);
      live.set(op.output, result);
      if (kept === null || kept.has(op.output)) tensors.set(op.output, result);
      for (const name of op.inputs) if (last.get(name) === index && name !== program.output) live.delete(name);
    });
    return { output: live.get(program.output).data, tensors };
  }

  return { FORMAT, OPERATIONS, run, decodeTensor, halfToFloat };
});

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
  // Convolutions

  // acc[oy, ox] += w * x[oy*sh + dy, ox*sw + dx] over the output pixels whose input pixel is inside the map
  // (outside it is the zero padding). One call per kernel tap and input channel: the inner loop is a plain
  // strided run along a row, with no test per pixel.
  function addShifted(acc, x, offset, H, W, Ho, Wo, w, dy, dx, sh, sw) {
    const oy0 = Math.max(0, Math.ceil(-dy / sh));
    const oy1 = Math.min(Ho, Math.floor((H - 1 - dy) / sh) + 1);
    const ox0 = Math.max(0, Math.ceil(-dx / sw));
    const ox1 = Math.min(Wo, Math.floor((W - 1 - dx) / sw) + 1);
    for (let oy = oy0; oy < oy1; oy++) {
      const row = offset + (oy * sh + dy) * W + dx;
      const out = oy * Wo;
      if (sw === 1) {
        for (let ox = ox0; ox < ox1; ox++) acc[out + ox] += w * x[row + ox];
      } else {
        for (let ox = ox0; ox < ox1; ox++) acc[out + ox] += w * x[row + ox * sw];
      }
    }
  }

  // The input with its zero border, so that every window lies inside it.
  function padded(x, ph, pw) {
    const [C, H, W] = x.shape;
    if (ph === 0 && pw === 0) return x.data;
    const Hp = H + 2 * ph;
    const Wp = W + 2 * pw;
    const out = new Float32Array(C * Hp * Wp);
    for (let c = 0; c < C; c++) {
      for (let i = 0; i < H; i++) out.set(x.data.subarray((c * H + i) * W, (c * H + i + 1) * W), (c * Hp + i + ph) * Wp + pw);
    }
    return out;
  }

  // Convolution (the lecture's y[o, i, j] = b[o] + sum_{c, u, v} w[o, c, u, v] x[c, i*s + u*d - p, j*s + v*d - p]),
  // with groups: output map o reads only the input maps of its group.
  function conv2d(op, [x], { weight, bias }) {
    const [C, H, W] = x.shape;
    const [O, Ho, Wo] = op.shape;
    const { stride, padding, dilation, groups } = op.attributes;
    const [, cin, kh, kw] = weight.shape;
    const perGroup = O / groups;
    if (C !== groups * cin) throw new Error(`${op.output}: ${C} input maps for groups of ${cin}`);
    const out = new Float32Array(O * Ho * Wo);
    if (stride[0] === 1 && stride[1] === 1) {
      conv2dStride1(op, padded(x, padding[0], padding[1]), H + 2 * padding[0], W + 2 * padding[1], weight, bias, out);
      return { shape: op.shape, data: out };
    }
    const acc = new Float64Array(Ho * Wo);
    for (let o = 0; o < O; o++) {
      acc.fill(bias ? bias.data[o] : 0);
      const first = Math.floor(o / perGroup) * cin;
      for (let ci = 0; ci < cin; ci++) {
        const offset = (first + ci) * H * W;
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const w = weight.data[((o * cin + ci) * kh + u) * kw + v];
            if (w === 0) continue;
            addShifted(acc, x.data, offset, H, W, Ho, Wo, w, u * dilation[0] - padding[0], v * dilation[1] - padding[1],
              stride[0], stride[1]);
          }
        }
      }
      out.set(acc, o * Ho * Wo);
    }
    return { shape: op.shape, data: out };
  }

  // One row of a kernel (k taps, d apart) over a long run: acc[i] += sum_v w[v] xp[row + i + v d]. Rows of 3
  // and 5 taps are summed in one pass, which reads and writes acc once for all of them (2-3x faster in V8).
  function addKernelRow(acc, xp, row, length, weights, at, k, d) {
    if (k === 3) {
      const w0 = weights[at], w1 = weights[at + 1], w2 = weights[at + 2];
      for (let i = 0, j = row; i < length; i++, j++) acc[i] += w0 * xp[j] + w1 * xp[j + d] + w2 * xp[j + 2 * d];
    } else if (k === 5) {
      const w0 = weights[at], w1 = weights[at + 1], w2 = weights[at + 2], w3 = weights[at + 3], w4 = weights[at + 4];
      for (let i = 0, j = row; i < length; i++, j++) {
        acc[i] += w0 * xp[j] + w1 * xp[j + d] + w2 * xp[j + 2 * d] + w3 * xp[j + 3 * d] + w4 * xp[j + 4 * d];
      }
    } else {
      for (let v = 0; v < k; v++) {
        const w = weights[at + v];
        const tap = row + v * d;
        for (let i = 0; i < length; i++) acc[i] += w * xp[tap + i];
      }
    }
  }

  // Stride 1 on the padded input xp (Hp x Wp): the output is computed Wp wide, so that each kernel tap is one
  // long run, acc[i] += w * xp[tap + i], whose extra Wp - Wo columns per row are dropped at the end.
  function conv2dStride1(op, xp, Hp, Wp, weight, bias, out) {
    const [O, Ho, Wo] = op.shape;
    const { dilation, groups } = op.attributes;
    const [, cin, kh, kw] = weight.shape;
    const perGroup = O / groups;
    const length = (Ho - 1) * Wp + Wo;
    const acc = new Float64Array(length);
    for (let o = 0; o < O; o++) {
      acc.fill(bias ? bias.data[o] : 0);
      const first = Math.floor(o / perGroup) * cin;
      for (let ci = 0; ci < cin; ci++) {
        const plane = (first + ci) * Hp * Wp;
        for (let u = 0; u < kh; u++) {
          addKernelRow(acc, xp, plane + u * dilation[0] * Wp, length, weight.data, ((o * cin + ci) * kh + u) * kw, kw,
            dilation[1]);
        }
      }
      for (let i = 0; i < Ho; i++) {
        for (let j = 0; j < Wo; j++) out[(o * Ho + i) * Wo + j] = acc[i * Wp + j];
      }
    }
  }

  // LeNet-5's C3 (Table I): output map o reads only the input maps listed in connections[o], with one 5x5
  // kernel per connection; the kernels are stored map after map.
  function sparseConv2d(op, [x], { weight, bias }) {
    const [, H, W] = x.shape;
    const [O, Ho, Wo] = op.shape;
    const { connections, stride, padding } = op.attributes;
    const [, kh, kw] = weight.shape;
    const out = new Float32Array(O * Ho * Wo);
    const acc = new Float64Array(Ho * Wo);
    let kernel = 0;
    for (let o = 0; o < O; o++) {
      acc.fill(bias ? bias.data[o] : 0);
      for (const c of connections[o]) {
        for (let u = 0; u < kh; u++) {
          for (let v = 0; v < kw; v++) {
            const w = weight.data[(kernel * kh + u) * kw + v];
            addShifted(acc, x.data, c * H * W, H, W, Ho, Wo, w, u - padding[0], v - padding[1], stride[0], stride[1]);
          }
        }
        kernel++;
      }
      out.set(acc, o * Ho * Wo);
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

  const relu = (op, [x]) => map(op, x, (v) => (v > 0 ? v : 0)); // max(0, a)
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
  function add(op, inputs) {
    const out = new Float32Array(size(op.shape));
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

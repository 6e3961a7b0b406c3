// cnnlab's drawing of what a layer computed, shared by the published page (page.js; inlined in the file) and the
// served lab (lab.js; served as /static/draw.js): colour scales and their legends with numbers, a layer's maps as
// tiles, a vector (or maps of 1x1) as bars. Plain JavaScript and canvas, no library; it fetches nothing.
// `window.cnnlabDraw` holds what it offers.
(function () {
  "use strict";

  const GAP = 1; // pixels between feature-map tiles

  // Colours: viridis (as `cnnlab show feature-maps` draws maps) for layers without negatives, and a
  // blue-white-red diverging map, symmetric around 0, for layers with negatives (so 0 is always white).

  function lut(anchors) {
    const table = new Uint8Array(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = (i / 255) * (anchors.length - 1);
      const j = Math.min(Math.floor(t), anchors.length - 2);
      const f = t - j;
      for (let c = 0; c < 3; c++) table[i * 3 + c] = Math.round(anchors[j][c] * (1 - f) + anchors[j + 1][c] * f);
    }
    return table;
  }

  const VIRIDIS = lut([[68, 1, 84], [72, 40, 120], [62, 74, 137], [49, 104, 142], [38, 130, 142],
    [31, 158, 137], [53, 183, 121], [109, 205, 89], [180, 222, 44], [253, 231, 37]]);
  const DIVERGING = lut([[33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
    [253, 219, 199], [239, 138, 98], [178, 24, 43]]);

  /** A layer's colour scale: symmetric around 0 when it has negatives, else 0 to its largest value. */
  function scaleOf(data) {
    let low = Infinity;
    let high = -Infinity;
    for (let i = 0; i < data.length; i++) {
      if (data[i] < low) low = data[i];
      if (data[i] > high) high = data[i];
    }
    if (low < 0) {
      const m = Math.max(-low, high) || 1;
      return { low: -m, high: m, symmetric: true, table: DIVERGING, min: low, max: high };
    }
    return { low: 0, high: high || 1, symmetric: false, table: VIRIDIS, min: low, max: high };
  }

  function colourIndex(scale, value) {
    const t = (value - scale.low) / (scale.high - scale.low);
    return Math.max(0, Math.min(255, Math.round(t * 255)));
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A number as the arithmetic shows it: 4 significant digits, no "-0". */
  function fmt(value) {
    if (value === 0 || Object.is(value, -0)) return "0";
    const a = Math.abs(value);
    if (a >= 1e4 || a < 1e-3) return value.toExponential(2);
    return Number(value.toPrecision(4)).toString();
  }

  function gridShape(channels, aspect) {
    const cols = Math.max(1, Math.min(channels, Math.ceil(Math.sqrt(channels * aspect))));
    return [Math.ceil(channels / cols), cols];
  }

  function makeLegend() {
    const node = el("div", "legend");
    const ramp = el("canvas", "ramp");
    ramp.width = 128;
    ramp.height = 1;
    const low = el("span", "low");
    const mid = el("span", "mid");
    const high = el("span", "high");
    const numbers = el("div", "numbers");
    numbers.append(low, mid, high);
    const words = el("p", "scale note");
    const ramps = el("div", "ramp-box");
    ramps.append(ramp, numbers);
    node.append(ramps, words);
    return { node, ramp, low, mid, high, words };
  }

  function drawLegend(legend, scale) {
    const image = new ImageData(128, 1);
    for (let i = 0; i < 128; i++) {
      const q = Math.round((i / 127) * 255);
      for (let c = 0; c < 3; c++) image.data[4 * i + c] = scale.table[q * 3 + c];
      image.data[4 * i + 3] = 255;
    }
    legend.ramp.getContext("2d").putImageData(image, 0, 0);
    legend.low.textContent = fmt(scale.low);
    legend.mid.textContent = fmt((scale.low + scale.high) / 2);
    legend.high.textContent = fmt(scale.high);
    legend.words.textContent = scale.symmetric
      ? `Colours scaled for this layer, symmetric around 0 (white): blue negative, red positive. Values ${fmt(scale.min)} to ${fmt(scale.max)}.`
      : `Colours scaled for this layer, from 0 to its largest value. Values ${fmt(scale.min)} to ${fmt(scale.max)}.`;
  }

  function drawTiles(view, data, scale) {
    const { channels, height, width, cols, canvas } = view;
    const image = new ImageData(canvas.width, canvas.height);
    image.data.fill(255);
    for (let c = 0; c < channels; c++) {
      const top = Math.floor(c / cols) * (height + GAP);
      const left = (c % cols) * (width + GAP);
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const q = colourIndex(scale, data[(c * height + y) * width + x]) * 3;
          const at = ((top + y) * canvas.width + left + x) * 4;
          image.data[at] = scale.table[q];
          image.data[at + 1] = scale.table[q + 1];
          image.data[at + 2] = scale.table[q + 2];
        }
      }
    }
    canvas.getContext("2d").putImageData(image, 0, 0);
  }

  function drawBars(view, data, scale) {
    const { canvas, barWidth } = view;
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff";
    context.fillRect(0, 0, canvas.width, canvas.height);
    const base = scale.symmetric ? canvas.height / 2 : canvas.height - 1;
    const reach = scale.symmetric ? canvas.height / 2 - 1 : canvas.height - 2;
    for (let i = 0; i < data.length; i++) {
      const q = colourIndex(scale, data[i]) * 3;
      context.fillStyle = `rgb(${scale.table[q]},${scale.table[q + 1]},${scale.table[q + 2]})`;
      const length = Math.max(1, (Math.abs(data[i]) / Math.max(-scale.low, scale.high)) * reach);
      const top = data[i] >= 0 ? base - length : base;
      context.fillRect(i * barWidth, top, Math.max(1, barWidth - (barWidth > 3 ? 1 : 0)), length);
    }
    context.fillStyle = "#999";
    context.fillRect(0, Math.round(base), canvas.width, 1); // the zero line
  }

  /** A layer's values as numbers: bytes `q` of the lab's API stand for `low + q / 255 * (high - low)`. */
  function dequantise(bytes, low, high) {
    const values = new Float32Array(bytes.length);
    for (let i = 0; i < bytes.length; i++) values[i] = low + (bytes[i] / 255) * (high - low);
    return values;
  }

  window.cnnlabDraw = {
    GAP, VIRIDIS, DIVERGING, scaleOf, colourIndex, el, fmt, gridShape, makeLegend, drawLegend, drawTiles, drawBars,
    dequantise,
  };
})();

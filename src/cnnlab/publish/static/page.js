// cnnlab's published page: the lab for the networks in this file, with no server and no Python.
//
// The page reads its data (docs/publish.md) from <script id="cnnlab-data">, prepares a picture as
// `cnnlab predict` does (prepare.js: cnnlabPrepare), runs each network (forward.js: cnnlabForward) and shows
// what every layer computed, down to one unit's arithmetic. Nothing is fetched: every byte is in the file,
// and the Content-Security-Policy forbids connections anyway. Plain JavaScript and canvas, no library.
(function () {
  "use strict";

  const UPDATE_EVERY_MS = 100; // while drawing, the networks run at most this often (never two runs at once)
  const PEN_WIDTH = 18; // pixels of the 280x280 pad: about MNIST's stroke once the digit is scaled to 20x20
  const MAP_WIDTH = 300; // CSS pixels a layer's grid of tiles is fitted into
  const SEEN_SIZE = 160; // CSS pixels of the "as the network receives it" picture
  const DETAILED_CHANNELS = 3; // input maps whose patch and kernel the arithmetic shows in full
  const LARGEST_TERMS = 6; // terms of a long sum (a linear layer's) listed by size

  // drawing shared with the served lab (draw.js: colour scales, legends, tiles and bars)
  const { GAP, scaleOf, el, fmt, gridShape, makeLegend, drawLegend, drawTiles, drawBars } = cnnlabDraw;

  const DATA = JSON.parse(document.getElementById("cnnlab-data").textContent);

  const state = {
    models: [], // one per network: its data, program, card and last run
    strokes: [], // the pad's strokes, each a list of [x, y]
    upload: null, // {image: ImageData, name} given instead of the drawing (photo, sample), or null: the pad
    busy: false, // a run is in progress
    dirty: false, // the input changed since the last run started
    lastRun: -Infinity,
    timer: null,
  };

  // ------------------------------------------------------------------------------------------------
  // Small helpers

  function status(text, isError = false) {
    const node = document.getElementById("status");
    node.textContent = text;
    node.classList.toggle("error", isError);
  }

  const count = (n) => Number(n).toLocaleString("en-US");
  const size = (shape) => shape.reduce((a, b) => a * b, 1);

  /** [C, H, W] of a tensor shape: a vector [N] is N maps of 1x1. */
  function mapShape(shape) {
    return shape.length === 3 ? shape : [shape[0], 1, 1];
  }

  function flatIndex(shape, channel, y, x) {
    const [, h, w] = mapShape(shape);
    return (channel * h + y) * w + x;
  }

  // ------------------------------------------------------------------------------------------------
  // Preparing the picture for one network

  /** The image as the network receives it: uint8 pixels (C, H, W) and the normalised float input. */
  function prepareFor(model, image, centre, name) {
    const info = model.info;
    const [channels, height, width] = info.input_shape;
    const prepared = !centre && info.digit_layout
      ? asDrawn(image, info)
      : cnnlabPrepare.prepare(image.data, image.width, image.height, info.digit_layout, {
        input_size: info.input_shape, channels: info.gray ? "gray" : "rgb", dataset: info.facts.dataset || undefined,
        mode: "auto", name,
      });
    const input = cnnlabPrepare.normalize(prepared.pixels, info.normalization, channels);
    return { pixels: prepared.pixels, input, shape: [channels, height, width] };
  }

  /**
   * "Centre the digit" off: the whole picture, light ink on black, scaled to the digit field and placed in
   * the training images' border, where it was drawn (so that moving a digit shows what translation does).
   * A picture that already is a training image passes unchanged, as with the toggle on.
   */
  function asDrawn(image, info) {
    const layout = info.digit_layout;
    const [channels, height, width] = info.input_shape;
    const border = layout.border || 0;
    const side = layout.field + 2 * border;
    const gray = cnnlabPrepare.toGray(image.data, image.width, image.height);
    const sizes = [[layout.field, layout.field], [side, side], [height, width]];
    const isTrainingSize = sizes.some(([h, w]) => h === image.height && w === image.width);
    if (isTrainingSize && ringMean(gray, image.width, image.height) <= 127.5) {
      return cnnlabPrepare.prepare(image.data, image.width, image.height, layout, { input_size: info.input_shape });
    }
    if (ringMean(gray, image.width, image.height) > 127.5) for (let i = 0; i < gray.length; i++) gray[i] = 255 - gray[i];
    const fit = cnnlabPrepare.fitImage;
    let pixels = fit(gray, 1, image.height, image.width, 1, layout.field, layout.field);
    pixels = fit(pixels, 1, layout.field, layout.field, 1, side, side); // the black border (28 -> 32)
    pixels = fit(pixels, 1, side, side, channels, height, width);
    return { pixels, channels, height, width };
  }

  /** The mean of a picture's outer pixels: light paper or dark. */
  function ringMean(gray, width, height) {
    let sum = 0;
    let n = 0;
    for (let x = 0; x < width; x++) {
      sum += gray[x] + gray[(height - 1) * width + x];
      n += 2;
    }
    for (let y = 0; y < height; y++) {
      sum += gray[y * width] + gray[y * width + width - 1];
      n += 2;
    }
    return sum / n;
  }

  // ------------------------------------------------------------------------------------------------
  // Running a network

  function softmax(logits, temperature) {
    let top = -Infinity;
    for (const v of logits) top = Math.max(top, v / temperature);
    const e = Array.from(logits, (v) => Math.exp(v / temperature - top));
    const total = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / total);
  }

  function topK(probabilities, classes, k) {
    const order = probabilities.map((p, i) => i).sort((a, b) => probabilities[b] - probabilities[a] || a - b);
    return order.slice(0, k).map((i) => ({ class: classes[i], probability: probabilities[i] }));
  }

  /** One forward pass: every tensor kept (the arithmetic of a unit reads its layer's inputs). */
  function runModel(model, prepared) {
    const { output, tensors } = cnnlabForward.run(model.info.program, prepared.input, { keep: true });
    tensors.set(model.info.program.input.name, { shape: prepared.shape, data: prepared.input });
    const probabilities = softmax(output, model.info.temperature || 1);
    return { prepared, tensors, output, probabilities };
  }

  function findModel(name) {
    if (name === undefined || name === null) {
      if (state.models.length === 1) return state.models[0];
      throw new Error(`this page has ${state.models.length} networks: name one of ${names().join(", ")}`);
    }
    const model = state.models.find((m) => m.info.name === name);
    if (!model) throw new Error(`no network called ${JSON.stringify(name)} on this page; it has ${names().join(", ")}`);
    return model;
  }

  const names = () => state.models.map((m) => m.info.name);

  function checkImage(image) {
    if (!image || !Number.isInteger(image.width) || !Number.isInteger(image.height) || !image.data) {
      throw new TypeError("expected an ImageData (or {data, width, height} with RGBA bytes)");
    }
    return image;
  }

  // ------------------------------------------------------------------------------------------------
  // The drawing pad

  const pad = document.getElementById("pad");
  const ink = pad.getContext("2d", { willReadFrequently: true });

  function paint() {
    ink.fillStyle = "#fff";
    ink.fillRect(0, 0, pad.width, pad.height);
    ink.strokeStyle = "#000";
    ink.lineWidth = PEN_WIDTH;
    ink.lineCap = "round";
    ink.lineJoin = "round";
    for (const stroke of state.strokes) {
      ink.beginPath();
      ink.moveTo(stroke[0][0], stroke[0][1]);
      for (const [x, y] of stroke.slice(1)) ink.lineTo(x, y);
      if (stroke.length === 1) ink.lineTo(stroke[0][0] + 0.1, stroke[0][1]); // a dot
      ink.stroke();
    }
  }

  function padPoint(event) {
    const rect = pad.getBoundingClientRect();
    return [((event.clientX - rect.left) * pad.width) / rect.width, ((event.clientY - rect.top) * pad.height) / rect.height];
  }

  function setUpPad() {
    pad.addEventListener("pointerdown", (event) => {
      event.preventDefault();
      pad.setPointerCapture(event.pointerId);
      useDrawing();
      state.strokes.push([padPoint(event)]);
      paint();
      changed();
    });
    pad.addEventListener("pointermove", (event) => {
      if (!pad.hasPointerCapture(event.pointerId) || !state.strokes.length) return;
      // a pen or finger reports more points than events: take them all, for smooth strokes
      const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
      const stroke = state.strokes[state.strokes.length - 1];
      for (const e of events.length ? events : [event]) stroke.push(padPoint(e));
      paint();
      changed();
    });
    pad.addEventListener("pointerup", () => changed());
    document.getElementById("undo").addEventListener("click", () => {
      useDrawing();
      state.strokes.pop();
      paint();
      changed();
    });
    document.getElementById("clear").addEventListener("click", () => {
      useDrawing();
      state.strokes = [];
      paint();
      changed();
    });
    document.getElementById("centre").addEventListener("change", () => changed());
  }

  function useDrawing() {
    if (state.upload === null) return;
    state.upload = null;
    document.getElementById("preview").hidden = true;
    document.getElementById("source").textContent = "";
  }

  // ------------------------------------------------------------------------------------------------
  // Photos and samples: decoded at their natural size, without colour management, as PIL reads them

  async function imageDataOf(blob) {
    let bitmap;
    try {
      bitmap = await createImageBitmap(blob, { colorSpaceConversion: "none", premultiplyAlpha: "none" });
    } catch (error) {
      bitmap = await createImageBitmap(blob); // an older browser without the options
    }
    const canvas = document.createElement("canvas");
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.drawImage(bitmap, 0, 0);
    if (bitmap.close) bitmap.close();
    return context.getImageData(0, 0, canvas.width, canvas.height);
  }

  /** A picture given instead of the drawing: the pad is cleared, the picture shown beside it. */
  async function useUpload(blob, name) {
    let image;
    try {
      image = await imageDataOf(blob);
    } catch (error) {
      status(`${name} is not an image this browser can read`, true);
      return;
    }
    state.strokes = [];
    paint();
    state.upload = { image, name };
    const preview = document.getElementById("preview");
    if (preview.src.startsWith("blob:")) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(blob);
    preview.hidden = false;
    document.getElementById("source").textContent = `${name}, ${image.width}x${image.height}`;
    changed();
  }

  function bytesOf(base64) {
    const binary = atob(base64);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function setUpUploads() {
    const drop = document.getElementById("drop");
    document.getElementById("file").addEventListener("change", (event) => {
      const file = event.target.files[0];
      if (file) useUpload(file, file.name);
    });
    drop.addEventListener("dragover", (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (event) => {
      event.preventDefault();
      drop.classList.remove("over");
      const file = event.dataTransfer.files[0];
      if (file) useUpload(file, file.name);
    });
    // a drop beside the zone must not make the browser open the file instead of the page
    window.addEventListener("dragover", (event) => event.preventDefault());
    window.addEventListener("drop", (event) => event.preventDefault());

    const row = document.getElementById("samples");
    for (const sample of DATA.samples || []) {
      const image = document.createElement("img");
      image.src = `data:image/png;base64,${sample.png}`;
      image.alt = `sample: ${sample.label}`;
      image.title = sample.label;
      image.dataset.sample = sample.name;
      image.tabIndex = 0;
      const choose = () => useUpload(new Blob([bytesOf(sample.png)], { type: "image/png" }), `sample ${sample.label}`);
      image.addEventListener("click", choose);
      image.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") choose();
      });
      row.append(image);
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Running every network on the newest input: at most every UPDATE_EVERY_MS, never two runs at once

  function changed() {
    state.dirty = true;
    pump();
  }

  // `body[data-settled=true]`: every card shows the newest input (for scripts and tests to wait on)
  function markSettled() {
    document.body.dataset.settled = String(!state.dirty && !state.busy && state.timer === null);
  }

  function pump() {
    if (!state.dirty || state.busy) {
      markSettled();
      return;
    }
    const wait = UPDATE_EVERY_MS - (performance.now() - state.lastRun);
    if (wait > 0) {
      if (state.timer === null) {
        state.timer = setTimeout(() => {
          state.timer = null;
          pump();
        }, wait);
      }
      markSettled();
      return;
    }
    state.dirty = false;
    state.busy = true;
    state.lastRun = performance.now();
    markSettled();
    // a timeout lets the browser paint the stroke before the networks take the main thread
    setTimeout(() => {
      try {
        runAll();
      } catch (error) {
        status(error.message, true);
      } finally {
        state.busy = false;
        pump(); // the input changed meanwhile: the newest one runs now, the ones between were never queued
      }
    }, 0);
  }

  function currentImage() {
    if (state.upload) return { image: state.upload.image, name: state.upload.name };
    if (!state.strokes.length) return null;
    return { image: ink.getImageData(0, 0, pad.width, pad.height), name: "the drawing" };
  }

  function runAll() {
    const current = currentImage();
    if (current === null) {
      for (const model of state.models) clearCard(model, "");
      status("Draw a digit, drop a photo or pick a sample.");
      return;
    }
    const centre = document.getElementById("centre").checked;
    const started = performance.now();
    let failed = null;
    for (const model of state.models) {
      try {
        model.last = runModel(model, prepareFor(model, current.image, centre, current.name));
        render(model, current.name);
      } catch (error) {
        failed = failed || error;
        model.last = null;
        clearCard(model, error.message);
      }
    }
    const took = performance.now() - started;
    if (failed) status(failed.message, true);
    else status(`${current.name}: ${state.models.length > 1 ? "every network ran" : "ran"} in ${Math.round(took)} ms, in this page`);
  }

  // ------------------------------------------------------------------------------------------------
  // A network's card: what it is, what it received, what it thinks, what each layer computed

  function makeCard(model) {
    const info = model.info;
    const node = document.getElementById("card").content.firstElementChild.cloneNode(true);
    node.dataset.model = info.name;
    node.querySelector(".title").textContent = info.name;
    const untrained = info.random_weights && !/random weights/.test(info.label) ? " · random weights (untrained)" : "";
    node.querySelector(".label").textContent = `${info.label}${untrained}`;
    fillFacts(node.querySelector(".facts"), info);
    const svg = node.querySelector(".architecture .svg");
    if (info.architecture_svg) svg.innerHTML = info.architecture_svg; // the file's own drawing (cnnlab draw)
    else node.querySelector(".architecture").hidden = true;
    model.card = {
      node, top: node.querySelector(".top"), unit: node.querySelector(".unit"),
      explain: node.querySelector(".explain"), seen: node.querySelector(".seen-image"),
      box: node.querySelector(".seen-box"), layers: new Map(),
    };
    makeSeen(model);
    const list = node.querySelector(".layers");
    for (const layer of info.layers) list.append(makeLayer(model, layer));
    return node;
  }

  function fillFacts(list, info) {
    const facts = info.facts || {};
    const rows = [
      ["test accuracy", facts.test_top1 == null ? null : `${(100 * facts.test_top1).toFixed(2)}%`],
      ["epochs", facts.epochs],
      ["trained on", facts.dataset],
      ["parameters", facts.parameters == null ? null : count(facts.parameters)],
      ["multiply-adds", facts.macs == null ? null : count(facts.macs)],
      ["input", info.input_shape.join("x")],
      ["date", facts.date],
    ];
    for (const [name, value] of rows) {
      if (value === null || value === undefined) continue;
      const item = el("div");
      item.append(el("dt", "", name), el("dd", "", String(value)));
      list.append(item);
    }
  }

  function makeSeen(model) {
    const [, height, width] = model.info.input_shape;
    const scale = Math.max(1, Math.floor(SEEN_SIZE / Math.max(height, width)));
    const { seen, box } = model.card;
    seen.width = width;
    seen.height = height;
    seen.style.width = `${width * scale}px`;
    seen.style.height = `${height * scale}px`;
    box.width = width * scale;
    box.height = height * scale;
    model.card.scale = scale;
  }

  function clearCard(model, message) {
    const card = model.card;
    card.top.replaceChildren();
    card.node.dataset.top = "";
    if (message) card.top.append(el("li", "error", message));
    for (const view of card.layers.values()) view.node.classList.add("stale");
  }

  function render(model, source) {
    const card = model.card;
    const run = model.last;
    const k = Math.min(5, model.info.classes.length);
    const top = topK(run.probabilities, model.info.classes, k);
    card.node.dataset.top = JSON.stringify(top);
    card.node.dataset.source = source;
    card.top.replaceChildren(...top.map(guessRow));
    drawSeen(model);
    for (const view of card.layers.values()) drawLayer(model, view);
    if (card.selected) select(model, card.selected.view, card.selected.unit);
  }

  function guessRow(guess) {
    const item = el("li");
    const bar = el("span", "bar");
    bar.style.width = `${Math.max(0.5, 100 * guess.probability)}%`;
    const track = el("span", "track");
    track.append(bar);
    item.append(el("span", "class", guess.class), track, el("span", "p", `${(100 * guess.probability).toFixed(1)}%`));
    return item;
  }

  function drawSeen(model) {
    const { pixels, shape } = model.last.prepared;
    const [channels, height, width] = shape;
    const image = new ImageData(width, height);
    const n = height * width;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) image.data[4 * i + c] = pixels[(channels === 3 ? c : 0) * n + i];
      image.data[4 * i + 3] = 255;
    }
    model.card.seen.getContext("2d").putImageData(image, 0, 0);
  }

  // ------------------------------------------------------------------------------------------------
  // A layer: its title, sentence, colour legend and maps (a tile per channel) or bars (a vector)

  function makeLayer(model, layer) {
    const [channels, height, width] = mapShape(layer.shape);
    const asBars = height * width === 1; // a vector, or 1x1 maps: one bar per unit
    const view = { layer, asBars, channels, height, width, node: el("section", "layer") };
    view.node.dataset.tensor = layer.tensor;
    const head = el("div", "layer-head");
    head.append(el("h3", "", layer.title || layer.tensor), el("span", "shape note", layer.shape.join("x")));
    view.node.append(head);
    if (layer.sentence) view.node.append(el("p", "sentence", layer.sentence));
    view.legend = makeLegend();
    view.node.append(view.legend.node);
    view.canvas = el("canvas", "maps");
    view.canvas.dataset.tensor = layer.tensor;
    if (asBars) {
      view.barWidth = Math.max(2, Math.min(24, Math.floor(MAP_WIDTH / channels)));
      view.canvas.width = channels * view.barWidth;
      view.canvas.height = 64;
      view.canvas.classList.add("bars");
      view.canvas.style.width = `${view.canvas.width}px`;
    } else {
      const [rows, cols] = gridShape(channels, height / width);
      view.cols = cols;
      view.canvas.width = cols * width + (cols - 1) * GAP;
      view.canvas.height = rows * height + (rows - 1) * GAP;
      const scale = Math.max(1, Math.min(12, Math.floor(MAP_WIDTH / view.canvas.width)));
      view.canvas.style.width = `${view.canvas.width * scale}px`;
    }
    view.marker = el("div", "marker");
    view.marker.hidden = true;
    const holder = el("div", "holder");
    holder.append(view.canvas, view.marker);
    view.node.append(holder);
    if (asBars && layer.tensor === model.info.layers[model.info.layers.length - 1].tensor
        && channels === model.info.classes.length) {
      view.node.append(classLabels(model.info.classes, view.barWidth));
    }
    view.canvas.addEventListener("mousemove", (event) => hover(model, view, event));
    view.canvas.addEventListener("mouseleave", () => { model.card.unit.textContent = "\u00a0"; });
    view.canvas.addEventListener("click", (event) => {
      const unit = unitAt(view, event);
      if (unit) select(model, view, unit);
    });
    model.card.layers.set(layer.tensor, view);
    return view.node;
  }

  function classLabels(classes, barWidth) {
    const row = el("div", "class-labels");
    if (barWidth < 10) return row;
    for (const name of classes) {
      const label = el("span", "", name);
      label.style.width = `${barWidth}px`;
      row.append(label);
    }
    return row;
  }

  function drawLayer(model, view) {
    const tensor = model.last.tensors.get(view.layer.tensor);
    view.node.classList.remove("stale");
    if (!tensor) return;
    const scale = scaleOf(tensor.data);
    view.scale = scale;
    drawLegend(view.legend, scale);
    if (view.asBars) drawBars(view, tensor.data, scale);
    else drawTiles(view, tensor.data, scale);
  }

  // ------------------------------------------------------------------------------------------------
  // Units: hover for a value, click for the receptive field and the arithmetic

  /** The unit under the pointer: {channel, y, x} (a vector's unit i is channel i), or null between tiles. */
  function unitAt(view, event) {
    const rect = view.canvas.getBoundingClientRect();
    const px = Math.floor(((event.clientX - rect.left) * view.canvas.width) / rect.width);
    const py = Math.floor(((event.clientY - rect.top) * view.canvas.height) / rect.height);
    if (view.asBars) {
      const channel = Math.floor(px / view.barWidth);
      return channel >= 0 && channel < view.channels ? { channel, y: 0, x: 0 } : null;
    }
    const col = Math.floor(px / (view.width + GAP));
    const row = Math.floor(py / (view.height + GAP));
    const x = px - col * (view.width + GAP);
    const y = py - row * (view.height + GAP);
    const channel = row * view.cols + col;
    if (x < 0 || y < 0 || x >= view.width || y >= view.height || col >= view.cols || channel >= view.channels) return null;
    return { channel, y, x };
  }

  function unitName(view, unit) {
    if (view.asBars) return view.layer.shape.length === 1 ? `unit ${unit.channel}` : `map ${unit.channel}`;
    return `map ${unit.channel}, row ${unit.y}, column ${unit.x}`;
  }

  function valueAt(model, tensorName, unit) {
    const tensor = model.last.tensors.get(tensorName);
    return tensor.data[flatIndex(tensor.shape, unit.channel, unit.y, unit.x)];
  }

  function hover(model, view, event) {
    if (!model.last) return;
    const unit = unitAt(view, event);
    model.card.unit.textContent = unit
      ? `${view.layer.title || view.layer.tensor}, ${unitName(view, unit)}: ${fmt(valueAt(model, view.layer.tensor, unit))}`
      : "between the maps";
  }

  function select(model, view, unit) {
    const card = model.card;
    card.selected = { view, unit };
    for (const other of card.layers.values()) other.marker.hidden = other !== view;
    placeMarker(view, unit);
    drawField(model, view.layer.field, unit);
    if (!model.last) return;
    const value = valueAt(model, view.layer.tensor, unit);
    card.unit.textContent = `${view.layer.title || view.layer.tensor}, ${unitName(view, unit)}: ${fmt(value)}`;
    showArithmetic(model, view, unit, value);
  }

  /** The clicked unit outlined on its layer, in percentages of the canvas (so it follows any resizing). */
  function placeMarker(view, unit) {
    const { canvas, marker } = view;
    let left;
    let top;
    let w;
    let h;
    if (view.asBars) {
      [left, top, w, h] = [unit.channel * view.barWidth, 0, view.barWidth, canvas.height];
    } else {
      left = (unit.channel % view.cols) * (view.width + GAP) + unit.x;
      top = Math.floor(unit.channel / view.cols) * (view.height + GAP) + unit.y;
      [w, h] = [1, 1];
    }
    marker.style.left = `${(100 * left) / canvas.width}%`;
    marker.style.top = `${(100 * top) / canvas.height}%`;
    marker.style.width = `${(100 * w) / canvas.width}%`;
    marker.style.height = `${(100 * h) / canvas.height}%`;
    marker.hidden = false;
  }

  /**
   * The unit's receptive field on the input: its centre is `start + unit * jump` on each axis and it spans
   * `size` pixels (pixel j covers j - 0.5 .. j + 0.5); the part outside the input is padding.
   */
  function drawField(model, field, unit) {
    const { box, scale } = model.card;
    const [, height, width] = model.info.input_shape;
    const context = box.getContext("2d");
    context.clearRect(0, 0, box.width, box.height);
    delete box.dataset.box;
    delete box.dataset.global;
    if (!field) return;
    context.strokeStyle = "#ff3b30";
    context.lineWidth = 2;
    if (field.global) {
      context.strokeRect(1, 1, box.width - 2, box.height - 2);
      box.dataset.global = "true";
      return;
    }
    const centre = [field.start[0] + unit.y * field.jump[0], field.start[1] + unit.x * field.jump[1]];
    const half = [(field.size[0] - 1) / 2, (field.size[1] - 1) / 2];
    const edges = [centre[0] - half[0], centre[1] - half[1], centre[0] + half[0], centre[1] + half[1]];
    box.dataset.box = JSON.stringify(edges); // top, left, bottom, right: pixel rows and columns
    const top = Math.max(edges[0], 0);
    const left = Math.max(edges[1], 0);
    const bottom = Math.min(edges[2], height - 1);
    const right = Math.min(edges[3], width - 1);
    context.strokeRect((left - 0.5) * scale + 1, (top - 0.5) * scale + 1,
      (right - left + 1) * scale - 2, (bottom - top + 1) * scale - 2);
    context.fillStyle = "#ff3b30";
    context.beginPath();
    context.arc((centre[1] + 0.5) * scale, (centre[0] + 0.5) * scale, 3, 0, 2 * Math.PI);
    context.fill();
  }

  // ------------------------------------------------------------------------------------------------
  // A unit's arithmetic, as CNN Explainer shows it: from the program's weights and the kept tensors

  const ELEMENTWISE = {
    relu: { name: "ReLU", text: "max(0, x)", f: (x) => Math.max(0, x) },
    sigmoid: { name: "sigmoid", text: "1 / (1 + e^-x)", f: (x) => 1 / (1 + Math.exp(-x)) },
    tanh: { name: "tanh", text: "tanh x", f: Math.tanh },
    neg: { name: "negation", text: "-x", f: (x) => -x },
  };

  function parameter(model, name) {
    const decoded = model.parameters || (model.parameters = new Map());
    if (!decoded.has(name)) decoded.set(name, cnnlabForward.decodeTensor(model.info.program.parameters[name]));
    return decoded.get(name).data;
  }

  function opFor(model, tensorName) {
    return model.info.program.operations.find((op) => op.output === tensorName);
  }

  /** What an element-wise operation does to one value: {name, formula, value} or null for other kinds. */
  function elementwise(model, op, x, channel) {
    if (op.op === "scaled_tanh") {
      const { amplitude: a, slope: s } = op.attributes;
      return { name: "scaled tanh (LeNet-5's squashing)", formula: `${fmt(a)} × tanh(${fmt(s)} × ${fmt(x)})`, value: a * Math.tanh(s * x) };
    }
    if (op.op === "affine") {
      const scale = parameter(model, op.parameters.scale)[channel];
      const shift = parameter(model, op.parameters.shift)[channel];
      return { name: "batch norm", formula: `${fmt(scale)} × ${fmt(x)} + ${fmt(shift)}`, value: scale * x + shift };
    }
    const known = ELEMENTWISE[op.op];
    if (!known) return null;
    return { name: known.name, formula: `${known.text} with x = ${fmt(x)}`, value: known.f(x) };
  }

  function showArithmetic(model, view, unit, value) {
    const panel = model.card.explain;
    const op = opFor(model, view.layer.tensor);
    panel.replaceChildren();
    panel.hidden = false;
    if (panel.previousElementSibling !== view.node) view.node.after(panel); // beside the click, not far above it
    const close = el("button", "close", "×");
    close.type = "button";
    close.title = "close";
    close.addEventListener("click", () => { panel.hidden = true; model.card.selected = null; view.marker.hidden = true; });
    panel.append(close, el("h4", "", `How ${view.layer.title || view.layer.tensor}, ${unitName(view, unit)} is computed`));
    if (view.layer.field) {
      const where = view.layer.field.global ? "sees the whole input" : "sees the red box on the input above";
      panel.append(el("p", "note", `This unit ${where}.`));
    }
    let computed = null;
    try {
      computed = explainOp(model, op, unit, panel);
    } catch (error) {
      panel.append(el("p", "note", `(the arithmetic could not be shown: ${error.message})`));
    }
    const result = el("p", "result");
    result.append("The map's value: ", el("strong", "", fmt(value)));
    if (computed !== null) result.append(` (the arithmetic above gives ${fmt(computed)})`);
    panel.append(result);
    panel.dataset.value = String(value);
    panel.dataset.computed = computed === null ? "" : String(computed);
    panel.dataset.op = op ? op.op : "";
    panel.dataset.tensor = view.layer.tensor;
    panel.dataset.unit = JSON.stringify([unit.channel, unit.y, unit.x]);
  }

  /** Appends the arithmetic of `op` at `unit` to `panel`; returns the value it computes (or null). */
  function explainOp(model, op, unit, panel) {
    if (!op) {
      panel.append(el("p", "note", "This is the input itself."));
      return null;
    }
    const inputs = op.inputs.map((name) => model.last.tensors.get(name));
    const x = inputs[0];
    const step = elementwise(model, op, x ? x.data[flatIndex(x.shape, unit.channel, unit.y, unit.x)] : 0, unit.channel);
    if (step) {
      // an activation: first how its input was computed, when that is a layer of its own
      const source = opFor(model, op.inputs[0]);
      let before = x.data[flatIndex(x.shape, unit.channel, unit.y, unit.x)];
      if (source) {
        const inner = explainOp(model, source, unit, panel);
        if (inner !== null) before = inner;
        panel.append(el("p", "step", `then the activation, ${step.name}:`));
      } else {
        panel.append(el("p", "step", `${step.name} of the value below it in ${op.inputs[0]}:`));
      }
      const again = elementwise(model, op, before, unit.channel);
      panel.append(equation(`${again.formula} = `, again.value));
      return again.value;
    }
    const explain = EXPLAIN[op.op];
    if (!explain) {
      panel.append(el("p", "note", `${op.op} (see docs/publish.md for what it computes).`));
      return null;
    }
    return explain(model, op, inputs, unit, panel);
  }

  function equation(text, value) {
    const line = el("p", "equation");
    line.append(text, el("strong", "", fmt(value)));
    return line;
  }

  /**
   * A grid of numbers (a patch or a kernel) coloured by value: `cells[u][v]`, with `null` for padding.
   * Large grids are summarised: CNN Explainer's 3x3 and LeNet's 5x5 fit, an 11x11 would not.
   */
  function grid(caption, cells, kind) {
    const figure = el("figure", `grid ${kind}`);
    const rows = cells.length;
    const cols = cells[0].length;
    let top = 0;
    for (const row of cells) for (const v of row) if (v !== null) top = Math.max(top, Math.abs(v));
    const table = el("table");
    for (const row of cells) {
      const line = el("tr");
      for (const v of row) {
        const cell = el("td", v === null ? "pad" : "", v === null ? "0" : fmt2(v));
        if (v !== null) cell.style.background = cellColour(v, top, kind);
        if (v === null) cell.title = "padding";
        line.append(cell);
      }
      table.append(line);
    }
    figure.append(el("figcaption", "", `${caption} (${rows}x${cols})`));
    if (rows * cols <= 49) figure.append(table);
    return figure;
  }

  function fmt2(v) {
    const a = Math.abs(v);
    if (a !== 0 && (a < 0.005 || a >= 1000)) return v.toExponential(0);
    return v.toFixed(2);
  }

  function cellColour(v, top, kind) {
    if (kind === "patch") {
      const t = top ? Math.abs(v) / top : 0; // the input: how bright the unit it reads is
      return v >= 0 ? `rgba(255, 160, 0, ${0.1 + 0.6 * t})` : `rgba(33, 102, 172, ${0.1 + 0.6 * t})`;
    }
    const t = top ? Math.abs(v) / top : 0; // a weight: red excites, blue inhibits
    return v >= 0 ? `rgba(178, 24, 43, ${0.08 + 0.5 * t})` : `rgba(33, 102, 172, ${0.08 + 0.5 * t})`;
  }

  /** The window of input map `c` a unit reads: cells[u][v] = x[c, y0 + u*dy, x0 + v*dx] or null off the map. */
  function window2d(tensor, c, y0, x0, kh, kw, dy = 1, dx = 1) {
    const [, h, w] = mapShape(tensor.shape);
    const cells = [];
    for (let u = 0; u < kh; u++) {
      const row = [];
      for (let v = 0; v < kw; v++) {
        const yy = y0 + u * dy;
        const xx = x0 + v * dx;
        row.push(yy >= 0 && yy < h && xx >= 0 && xx < w ? tensor.data[(c * h + yy) * w + xx] : null);
      }
      cells.push(row);
    }
    return cells;
  }

  /** One input map's part of a convolution: its patch, the kernel, and the sum of their products. */
  function convolutionTerm(panel, patch, kernel, label, detailed) {
    let sum = 0;
    let products = 0;
    for (let u = 0; u < patch.length; u++) {
      for (let v = 0; v < patch[0].length; v++) {
        if (patch[u][v] !== null) sum += patch[u][v] * kernel[u][v];
        products++;
      }
    }
    if (detailed) {
      const row = el("div", "term");
      row.append(grid(`${label}: the input patch`, patch, "patch"), el("span", "op", "×"),
        grid("the kernel", kernel, "kernel"), el("span", "op", "="),
        el("span", "partial", `Σ ${products} products: ${fmt(sum)}`));
      panel.append(row);
    }
    return sum;
  }

  function kernelOf(weights, offset, kh, kw) {
    const cells = [];
    for (let u = 0; u < kh; u++) cells.push(Array.from(weights.subarray(offset + u * kw, offset + (u + 1) * kw)));
    return cells;
  }

  /** The sums of the input maps not shown in full, in one line. */
  function restOfSums(panel, rest) {
    if (!rest.length) return;
    const shown = rest.slice(0, 24).map(([c, s]) => `map ${c}: ${fmt(s)}`).join(", ");
    panel.append(el("p", "note", `the other ${rest.length} input maps' sums: ${shown}${rest.length > 24 ? ", ..." : ""}`));
  }

  function totalLine(panel, parts, terms, bias, what) {
    const total = parts.reduce((a, b) => a + b, 0);
    const text = parts.length > 1 ? `${what}: ${parts.length} sums add up to ${fmt(total)}` : `${what}: ${fmt(total)}`;
    if (bias === null) {
      panel.append(equation(`${text}; no bias = `, total));
      return total;
    }
    panel.append(equation(`${text}; plus the bias ${fmt(bias)} = `, total + bias));
    return total + bias;
  }

  function explainConv2d(model, op, [x], unit, panel) {
    const weight = parameter(model, op.parameters.weight);
    const [out, perGroup, kh, kw] = model.info.program.parameters[op.parameters.weight].shape;
    const { stride, padding, dilation, groups } = op.attributes;
    const first = Math.floor(unit.channel / (out / groups)) * perGroup;
    const y0 = unit.y * stride[0] - padding[0];
    const x0 = unit.x * stride[1] - padding[1];
    const bias = op.parameters.bias ? parameter(model, op.parameters.bias)[unit.channel] : null;
    panel.append(el("p", "step", `Convolution: ${perGroup} input map${perGroup > 1 ? "s" : ""}, each patch multiplied cell by cell with its ${kh}x${kw} kernel${op.attributes.batch_norm ? " (the batch norm folded in)" : ""}.`));
    const parts = [];
    const rest = [];
    for (let c = 0; c < perGroup; c++) {
      const patch = window2d(x, first + c, y0, x0, kh, kw, dilation[0], dilation[1]);
      const kernel = kernelOf(weight, ((unit.channel * perGroup + c) * kh) * kw, kh, kw);
      const sum = convolutionTerm(panel, patch, kernel, `map ${first + c}`, c < DETAILED_CHANNELS);
      parts.push(sum);
      if (c >= DETAILED_CHANNELS) rest.push([first + c, sum]);
    }
    restOfSums(panel, rest);
    return totalLine(panel, parts, null, bias, "all products");
  }

  function explainSparseConv2d(model, op, [x], unit, panel) {
    const weight = parameter(model, op.parameters.weight);
    const [, kh, kw] = model.info.program.parameters[op.parameters.weight].shape;
    const { connections, stride, padding } = op.attributes;
    let k = 0;
    for (let o = 0; o < unit.channel; o++) k += connections[o].length;
    const reads = connections[unit.channel];
    panel.append(el("p", "step", `LeNet-5's C3: map ${unit.channel} reads only maps ${reads.join(", ")} of the layer before (Table I), a ${kh}x${kw} kernel for each.`));
    const parts = [];
    const rest = [];
    reads.forEach((c, i) => {
      const patch = window2d(x, c, unit.y * stride[0] - padding[0], unit.x * stride[1] - padding[1], kh, kw);
      const sum = convolutionTerm(panel, patch, kernelOf(weight, (k + i) * kh * kw, kh, kw), `map ${c}`, i < DETAILED_CHANNELS);
      parts.push(sum);
      if (i >= DETAILED_CHANNELS) rest.push([c, sum]);
    });
    restOfSums(panel, rest);
    return totalLine(panel, parts, null, parameter(model, op.parameters.bias)[unit.channel], "all products");
  }

  function explainSubsampling(model, op, [x], unit, panel) {
    const k = op.attributes.kernel;
    const patch = window2d(x, unit.channel, unit.y * k, unit.x * k, k, k);
    let sum = 0;
    for (const row of patch) for (const v of row) sum += v;
    const w = parameter(model, op.parameters.weight)[unit.channel];
    const b = parameter(model, op.parameters.bias)[unit.channel];
    panel.append(el("p", "step", `LeNet's subsampling: the ${k}x${k} region's sum, times a trained weight, plus a trained bias.`));
    const row = el("div", "term");
    row.append(grid(`map ${unit.channel}: the region`, patch, "patch"), el("span", "partial", `sum = ${fmt(sum)}`));
    panel.append(row, equation(`${fmt(sum)} × ${fmt(w)} + ${fmt(b)} = `, sum * w + b));
    return sum * w + b;
  }

  /** The cells of a pooling window inside the map, and how many cells of the padded map it covers. */
  function poolWindow(op, x, unit) {
    const { kernel, stride, padding } = op.attributes;
    const y0 = unit.y * stride[0] - padding[0];
    const x0 = unit.x * stride[1] - padding[1];
    const [, h, w] = mapShape(x.shape);
    // a window may run past the padded map with ceil_mode: cut it there, as PyTorch does
    const kh = Math.min(kernel[0], h + padding[0] - y0);
    const kw = Math.min(kernel[1], w + padding[1] - x0);
    const patch = window2d(x, unit.channel, y0, x0, kh, kw);
    const inside = patch.flat().filter((v) => v !== null);
    return { patch, inside, padded: kh * kw };
  }

  function explainMaxPool(model, op, [x], unit, panel) {
    const { patch, inside } = poolWindow(op, x, unit);
    const best = Math.max(...inside);
    panel.append(el("p", "step", "Max pooling: the largest value of the window."));
    const row = el("div", "term");
    row.append(grid(`map ${unit.channel}: the window`, patch, "patch"), el("span", "partial", `max = ${fmt(best)}`));
    panel.append(row, equation("max = ", best));
    return best;
  }

  function explainAvgPool(model, op, [x], unit, panel) {
    const { patch, inside, padded } = poolWindow(op, x, unit);
    const sum = inside.reduce((a, b) => a + b, 0);
    const n = op.attributes.count_include_pad ? padded : inside.length;
    panel.append(el("p", "step", "Average pooling: the mean of the window."));
    const row = el("div", "term");
    row.append(grid(`map ${unit.channel}: the window`, patch, "patch"), el("span", "partial", `sum = ${fmt(sum)}`));
    panel.append(row, equation(`${fmt(sum)} / ${n} = `, sum / n));
    return sum / n;
  }

  function explainMixedPool(model, op, [x], unit, panel) {
    const { patch, inside } = poolWindow(op, x, unit);
    const mix = parameter(model, op.parameters.mix);
    const a = mix.length === 1 ? mix[0] : mix[unit.channel];
    const best = Math.max(...inside);
    const mean = inside.reduce((s, v) => s + v, 0) / inside.length;
    panel.append(el("p", "step", "Mixed pooling: a learned mix of the window's max and mean."));
    panel.append(grid(`map ${unit.channel}: the window`, patch, "patch"));
    panel.append(equation(`${fmt(a)} × ${fmt(best)} + (1 - ${fmt(a)}) × ${fmt(mean)} = `, a * best + (1 - a) * mean));
    return a * best + (1 - a) * mean;
  }

  function explainAdaptiveAvg(model, op, [x], unit, panel) {
    const [, h, w] = mapShape(x.shape);
    const [ho, wo] = op.attributes.output_size;
    const y0 = Math.floor((unit.y * h) / ho);
    const y1 = Math.ceil(((unit.y + 1) * h) / ho);
    const x0 = Math.floor((unit.x * w) / wo);
    const x1 = Math.ceil(((unit.x + 1) * w) / wo);
    const patch = window2d(x, unit.channel, y0, x0, y1 - y0, x1 - x0);
    const sum = patch.flat().reduce((a, b) => a + b, 0);
    const n = (y1 - y0) * (x1 - x0);
    panel.append(el("p", "step", ho * wo === 1 ? "Global average pooling: the mean of the whole map." : "Average pooling of a region."));
    panel.append(grid(`map ${unit.channel}`, patch, "patch"), equation(`${fmt(sum)} / ${n} = `, sum / n));
    return sum / n;
  }

  /** A long sum (a linear layer, an RBF unit): its largest terms listed, the total computed in full. */
  function longSum(panel, terms, describe) {
    const order = terms.map((t, i) => i).sort((a, b) => Math.abs(terms[b]) - Math.abs(terms[a]));
    const list = el("ul", "terms");
    for (const i of order.slice(0, LARGEST_TERMS)) list.append(el("li", "", describe(i)));
    panel.append(el("p", "note", `the ${Math.min(LARGEST_TERMS, terms.length)} largest of ${terms.length} terms:`), list);
    return terms.reduce((a, b) => a + b, 0);
  }

  function explainLinear(model, op, [x], unit, panel) {
    const weight = parameter(model, op.parameters.weight);
    const n = x.data.length;
    const row = weight.subarray(unit.channel * n, (unit.channel + 1) * n);
    const terms = Array.from(x.data, (v, j) => row[j] * v);
    panel.append(el("p", "step", `Fully connected: each of the ${n} inputs times its weight, added up${op.attributes.batch_norm ? " (the batch norm folded in)" : ""}.`));
    const sum = longSum(panel, terms, (j) => `input ${j}: ${fmt(x.data[j])} × weight ${fmt(row[j])} = ${fmt(terms[j])}`);
    const bias = op.parameters.bias ? parameter(model, op.parameters.bias)[unit.channel] : null;
    return totalLine(panel, [sum], null, bias, `the sum of ${n} products`);
  }

  function explainRbf(model, op, [x], unit, panel) {
    const prototypes = parameter(model, op.parameters.prototypes);
    const n = x.data.length;
    const w = prototypes.subarray(unit.channel * n, (unit.channel + 1) * n);
    const terms = Array.from(x.data, (v, j) => (v - w[j]) ** 2);
    panel.append(el("p", "step", `LeNet-5's RBF output: the squared distance between the ${n} inputs and class ${model.info.classes[unit.channel] ?? unit.channel}'s prototype (small: a good match).`));
    const sum = longSum(panel, terms, (j) => `(${fmt(x.data[j])} - ${fmt(w[j])})² = ${fmt(terms[j])}`);
    panel.append(equation("the sum of squares = ", sum));
    return sum;
  }

  function explainAdd(model, op, inputs, unit, panel) {
    const values = inputs.map((t) => t.data[flatIndex(t.shape, unit.channel, unit.y, unit.x)]);
    panel.append(el("p", "step", `A residual addition of ${op.inputs.join(" and ")}, unit by unit.`));
    const sum = values.reduce((a, b) => a + b, 0);
    panel.append(equation(`${values.map(fmt).join(" + ")} = `, sum));
    return sum;
  }

  function explainCopy(model, op, inputs, unit, panel) {
    // flatten, reshape and concat move values without changing them: find where this one came from
    let index = flatIndex(op.shape, unit.channel, unit.y, unit.x);
    let k = 0;
    if (op.op === "concat") {
      const per = inputs.map((t) => size(t.shape));
      while (index >= per[k]) index -= per[k++];
    }
    const value = inputs[k].data[index];
    panel.append(el("p", "step", `${op.op}: value ${index} of ${op.inputs[k]}, unchanged.`), equation("= ", value));
    return value;
  }

  function explainShortcutPad(model, op, [x], unit, panel) {
    // ResNet's option-A shortcut: every stride-th pixel, with zero maps in front and behind for the new channels
    const { stride, before } = op.attributes;
    const [channels, h, w] = mapShape(x.shape);
    const c = unit.channel - before;
    if (c < 0 || c >= channels) {
      panel.append(el("p", "step", `Option-A shortcut: map ${unit.channel} is one of the zero maps added for the new channels.`));
      return 0;
    }
    const value = x.data[(c * h + unit.y * stride) * w + unit.x * stride];
    panel.append(el("p", "step", `Option-A shortcut: map ${c} of ${op.inputs[0]} at row ${unit.y * stride}, column ${unit.x * stride} (every ${stride}th pixel), unchanged.`), equation("= ", value));
    return value;
  }

  const EXPLAIN = {
    shortcut_pad: explainShortcutPad,
    conv2d: explainConv2d, sparse_conv2d: explainSparseConv2d, subsampling: explainSubsampling,
    max_pool2d: explainMaxPool, avg_pool2d: explainAvgPool, mixed_pool2d: explainMixedPool,
    adaptive_avg_pool2d: explainAdaptiveAvg, linear: explainLinear, rbf: explainRbf, add: explainAdd,
    flatten: explainCopy, reshape: explainCopy, concat: explainCopy,
  };

  // ------------------------------------------------------------------------------------------------
  // The page's API (docs/publish-page-api.md): what the tests and anyone scripting the page call

  function predictOne(image, k, name) {
    const model = findModel(name);
    const run = runModel(model, prepareFor(model, checkImage(image), true, "the image"));
    const n = k === undefined || k === null ? Math.min(5, model.info.classes.length) : k;
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`k must be a whole number of at least 1, got ${k}`);
    return topK(run.probabilities, model.info.classes, Math.min(n, model.info.classes.length));
  }

  function inspectOne(image, name) {
    const model = findModel(name);
    const prepared = prepareFor(model, checkImage(image), true, "the image");
    const run = runModel(model, prepared);
    const layers = {};
    for (const layer of model.info.layers) {
      const tensor = run.tensors.get(layer.tensor);
      layers[layer.tensor] = { shape: tensor.shape.slice(), data: Array.from(tensor.data) };
    }
    return {
      model: model.info.name,
      input: { shape: prepared.shape, pixels: Array.from(prepared.pixels), data: Array.from(prepared.input) },
      layers,
      output: Array.from(run.output),
      probabilities: run.probabilities,
    };
  }

  window.cnnlab = Object.freeze({
    format: DATA.format,
    version: DATA.cnnlab,
    get models() {
      return names();
    },
    /** The top k classes of an ImageData for one network: [{class, probability}], as `cnnlab predict`. */
    predict: async (image, k, model) => predictOne(image, k, model),
    /** The input as the network received it and every layer's maps, for one network. */
    inspect: async (image, model) => inspectOne(image, model),
  });

  // ------------------------------------------------------------------------------------------------

  function start() {
    if (DATA.format !== "cnnlab-page/1") {
      status(`this page's data is ${DATA.format}, not cnnlab-page/1`, true);
      return;
    }
    state.models = DATA.models.map((info) => ({ info, card: null, last: null }));
    document.getElementById("models").replaceChildren(...state.models.map(makeCard));
    const footer = document.getElementById("footer");
    footer.textContent = `Made with cnnlab ${DATA.cnnlab} on ${DATA.generated}. It runs in this page, offline; nothing you draw or drop leaves it.`;
    if (!DATA.note) document.querySelector(".teacher-note").hidden = true;
    paint();
    setUpPad();
    setUpUploads();
    document.body.dataset.ready = "true";
    status(`${names().join(", ")}: draw a digit, drop a photo or pick a sample.`);
    markSettled();
  }

  try {
    start();
  } catch (error) {
    status(`the page could not start: ${error.message}`, true);
    throw error;
  }
})();

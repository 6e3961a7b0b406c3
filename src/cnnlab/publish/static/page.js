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
  // The saliency view opens by itself when its forward passes cost at most this many multiply-adds (LeNet-5's
  // 170 passes: 7e7, a tenth of a second; ResNet-20's: 7e9, seconds: opened by hand)
  const OCCLUSION_OPEN_MACS = 5e8;
  const OVERLAY_ALPHA = 0.55; // the map over the input, as cnnlab.saliency's figure lays it

  // drawing shared with the served lab (draw.js: colour scales, legends, tiles and bars)
  const { GAP, scaleOf, el, fmt, gridShape, makeLegend, drawLegend, drawTiles, drawBars } = cnnlabDraw;
  // a unit's arithmetic, shared with the served lab (explain_unit.js)
  const { mapShape, flatIndex } = cnnlabExplain;

  const DATA = JSON.parse(document.getElementById("cnnlab-data").textContent);

  const state = {
    models: [], // one per network: its data, program, card and last run
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

  const { softmax } = cnnlabOcclusion; // softmax(logits / T), as occlusion's drops are computed

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
  // The drawing pad (pad.js, shared with the served lab)

  let pad = null; // cnnlabPad.createPad's pad, from start()

  function setUpPad() {
    pad = cnnlabPad.createPad(document.getElementById("pad"), {
      penWidth: PEN_WIDTH, onStart: useDrawing, onChange: changed,
      undoButton: document.getElementById("undo"), clearButton: document.getElementById("clear"),
    });
    pad.paint();
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
    pad.clear(false);
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
    // a saliency map of the old input is stale: its slices stop now, not after the networks ran on the new one
    for (const model of state.models) cancelSaliency(model);
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
    if (pad.isBlank()) return null;
    return { image: pad.ink.getImageData(0, 0, pad.canvas.width, pad.canvas.height), name: "the drawing" };
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
    node.querySelector(".row").after(makeSaliency(model));
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
    clearSaliency(model);
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
    showSaliency(model);
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
  // Which pixels made it a 7: occlusion (occlusion.js: cnnlabOcclusion, as cnnlab.saliency computes it), over
  // the input, recomputed after every run in slices that leave the page free; a newer input cancels it. With
  // "compare with random weights", the same on the network's twin with random weights (the page data's
  // occlusion.twin) and the rank correlation of the two maps (Adebayo et al. 2018's sanity check).

  function makeSaliency(model) {
    const info = model.info;
    const square = info.occlusion || cnnlabOcclusion.defaultOcclusion(info.input_shape[1], info.input_shape[2]);
    const node = el("details", "saliency");
    const passes = (square.places || 0) + 1;
    node.open = (info.facts.macs || 0) * passes <= OCCLUSION_OPEN_MACS;
    const heading = el("span", "", "Which pixels made it ");
    const named = el("span", "saliency-class", "?");
    const summary = el("summary");
    heading.append(named);
    summary.append(heading);
    node.append(summary);

    const controls = el("div", "saliency-controls");
    const picker = el("select", "saliency-target");
    picker.append(new Option("the predicted class", ""));
    info.classes.forEach((name, index) => picker.append(new Option(name, String(index))));
    const pick = el("label", "", "class to explain ");
    pick.append(picker);
    controls.append(pick);
    const twinBox = el("input");
    twinBox.type = "checkbox";
    twinBox.className = "saliency-random";
    const twinLabel = el("label", "twin-toggle");
    twinLabel.append(twinBox, " compare with random weights");
    if (info.occlusion && info.occlusion.twin) {
      controls.append(twinLabel);
    } else {
      const why = info.random_weights ? "this network is itself untrained" : "the network is too big to carry its twin";
      controls.append(el("span", "note", `(no random-weights twin on this page: ${why})`));
    }
    node.append(controls);

    const row = el("div", "saliency-row");
    const trained = makeOcclusionFigure(model, "this network");
    const twin = makeOcclusionFigure(model, info.occlusion && info.occlusion.twin ? info.occlusion.twin.label : "");
    twin.node.hidden = true;
    row.append(trained.node, twin.node);
    node.append(row);
    const text = el("p", "saliency-text note", "\u00a0");
    const twinText = el("p", "saliency-twin-text note");
    twinText.hidden = true;
    node.append(text, twinText, el("p", "note saliency-how",
      `Occlusion (Zeiler and Fergus 2014): a ${square.window}x${square.window} square moved ${square.stride} pixel` +
      `${square.stride === 1 ? "" : "s"} at a time (${square.places} places, the last one flush with the edge) ` +
      "hides part of the input, filled with 0, the training images' mean; each pixel shows the mean drop of the " +
      "class's probability over the squares that hid it. Red: hiding it lowered the probability (it spoke for " +
      "the class); blue: hiding it raised it."));

    const view = { node, named, picker, twinBox, trained, twin, text, twinText, square, target: null, job: null,
      token: null };
    model.card.saliency = view;
    picker.addEventListener("change", () => {
      view.target = picker.value === "" ? null : Number(picker.value);
      showSaliency(model);
    });
    twinBox.addEventListener("change", () => showSaliency(model));
    node.addEventListener("toggle", () => showSaliency(model));
    return node;
  }

  function makeOcclusionFigure(model, caption) {
    const [, height, width] = model.info.input_shape;
    const scale = Math.max(1, Math.floor(SEEN_SIZE / Math.max(height, width)));
    const node = el("figure", "occlusion");
    const canvas = el("canvas", "occlusion-map");
    canvas.width = width;
    canvas.height = height;
    canvas.style.width = `${width * scale}px`;
    canvas.style.height = `${height * scale}px`;
    const legend = makeLegend();
    legend.words.className = "drop-scale note"; // not a layer's legend (".legend .scale"): its own words
    node.append(canvas, el("figcaption", "", caption), legend.node);
    return { node, canvas, legend };
  }

  function cancelSaliency(model) {
    const view = model.card && model.card.saliency;
    if (!view || !view.job) return;
    view.job.cancel();
    view.job = null;
    view.token = null;
    view.node.dataset.state = "stale";
  }

  function clearSaliency(model) {
    const view = model.card.saliency;
    if (!view) return;
    cancelSaliency(model);
    view.node.dataset.state = "";
    view.node.classList.add("stale");
  }

  /** The input in gray with the map over it: blue-white-red centred on 0, at the figure's opacity. */
  function drawOcclusion(figure, prepared, map, label) {
    const [channels, height, width] = prepared.shape;
    let low = Infinity;
    let high = -Infinity;
    for (const v of map) [low, high] = [Math.min(low, v), Math.max(high, v)];
    const top = Math.max(-low, high);
    const scale = { low: -(top || 1), high: top || 1, symmetric: true, table: cnnlabDraw.DIVERGING, min: low, max: high };
    const image = new ImageData(width, height);
    const n = height * width;
    const { pixels } = prepared;
    for (let i = 0; i < n; i++) {
      const gray = channels === 3 ? 0.299 * pixels[i] + 0.587 * pixels[n + i] + 0.114 * pixels[2 * n + i] : pixels[i];
      const q = cnnlabDraw.colourIndex(scale, map[i]) * 3;
      for (let c = 0; c < 3; c++) image.data[4 * i + c] = Math.round((1 - OVERLAY_ALPHA) * gray + OVERLAY_ALPHA * scale.table[q + c]);
      image.data[4 * i + 3] = 255;
    }
    figure.canvas.getContext("2d").putImageData(image, 0, 0);
    drawLegend(figure.legend, scale);
    figure.legend.words.textContent = `The drop of p(${label}), symmetric around 0 (white): red, hiding the pixel ` +
      `lowered it; blue, raised it. Values ${fmt(low)} to ${fmt(high)}.`;
  }

  const percent = (p) => `${(100 * p).toFixed(1)}%`;

  /** (Re)computes the view for the model's newest run: cancels a stale one, does nothing while it is closed. */
  async function showSaliency(model) {
    const view = model.card.saliency;
    if (!view) return;
    if (view.job) view.job.cancel();
    view.job = null;
    const run = model.last;
    if (!run || !view.node.open) {
      view.token = null;
      view.node.dataset.state = run ? "closed" : "";
      return;
    }
    const token = {};
    view.token = token;
    const info = model.info;
    const wantTwin = view.twinBox.checked && info.occlusion && info.occlusion.twin;
    view.node.dataset.state = "running";
    const options = { target: view.target, window: view.square.window, stride: view.square.stride,
      temperature: info.temperature || 1 };
    try {
      const found = await occlude(view, token, info.program, run.prepared.input, options, view.text);
      if (found === null) return;
      const label = info.classes[found.target];
      view.named.textContent = `a ${label}`;
      view.node.dataset.target = String(found.target);
      view.node.dataset.probability = String(found.probability);
      view.node.dataset.ms = String(Math.round(found.ms));
      drawOcclusion(view.trained, run.prepared, found.map, label);
      view.node.classList.remove("stale");
      const chosen = found.target === found.predicted ? "the class it chose" : `it chose ${info.classes[found.predicted]} (${percent(found.probabilities[found.predicted])})`;
      view.text.textContent = `Explains ${label}: p(${label}) = ${percent(found.probability)}, ${chosen}. ` +
        `Window ${found.window}x${found.window}, stride ${found.stride}: ${found.passes} forward passes in ${Math.round(found.ms)} ms.`;
      view.twin.node.hidden = !wantTwin;
      view.twinText.hidden = !wantTwin;
      if (wantTwin) {
        const twinOptions = { ...options, target: found.target };
        const random = await occlude(view, token, info.occlusion.twin.program, run.prepared.input, twinOptions, view.twinText);
        if (random === null) return;
        drawOcclusion(view.twin, run.prepared, random.map, label);
        const rho = cnnlabOcclusion.spearman(found.map, random.map);
        view.node.dataset.correlation = String(rho);
        view.twinText.textContent = `Random weights (same architecture, seed ${info.occlusion.twin.seed}): ` +
          `p(${label}) = ${percent(random.probability)}. Spearman rank correlation of the two maps ` +
          `${Number.isNaN(rho) ? "undefined" : rho.toFixed(2)}: ${cnnlabOcclusion.correlationWords(rho)}.`;
      } else {
        delete view.node.dataset.correlation;
      }
      view.node.dataset.state = "done";
    } catch (error) {
      if (view.token !== token) return;
      view.node.dataset.state = "error";
      view.text.textContent = error.message;
    }
  }

  /** One occlusion map in slices; null when a newer run or setting made it stale. */
  async function occlude(view, token, program, input, options, line) {
    const started = performance.now();
    const job = cnnlabOcclusion.start(program, input, options, {
      onProgress: (done, total) => {
        if (view.token === token && done < total) line.textContent = `occluding: ${done} of ${total} places...`;
      },
    });
    view.job = job;
    const found = await job.promise;
    if (found === null || view.token !== token) return null;
    return { ...found, ms: performance.now() - started };
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
  // A unit's arithmetic, as CNN Explainer shows it (explain_unit.js: from the program's weights and the kept
  // tensors), in a panel beside the clicked layer

  function showArithmetic(model, view, unit, value) {
    const panel = model.card.explain;
    panel.replaceChildren();
    panel.hidden = false;
    if (panel.previousElementSibling !== view.node) view.node.after(panel); // beside the click, not far above it
    const close = el("button", "close", "×");
    close.type = "button";
    close.title = "close";
    close.addEventListener("click", () => { panel.hidden = true; model.card.selected = null; view.marker.hidden = true; });
    panel.append(close);
    const context = { program: model.info.program, tensors: model.last.tensors, classes: model.info.classes,
      parameters: model.parameters || (model.parameters = new Map()) };
    cnnlabExplain.show(panel, context, view.layer.tensor, unit,
      { title: view.layer.title || view.layer.tensor, unitName: unitName(view, unit), field: view.layer.field, value });
  }

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

  /** Occlusion of one network (or its random-weights twin) as the view computes it, in slices. */
  async function occlusionOne(image, options = {}) {
    const model = findModel(options.model);
    const { classes, occlusion } = model.info;
    let program = model.info.program;
    if (options.random) {
      if (!occlusion || !occlusion.twin) throw new Error(`${model.info.name} has no random-weights twin on this page`);
      program = occlusion.twin.program;
    }
    let target = options.target ?? null;
    if (typeof target === "string") {
      target = classes.indexOf(target);
      if (target < 0) throw new RangeError(`no class ${JSON.stringify(options.target)}; the classes are ${classes.join(", ")}`);
    }
    const prepared = prepareFor(model, checkImage(image), true, "the image");
    const started = performance.now();
    const found = await cnnlabOcclusion.start(program, prepared.input, { target, window: options.window,
      stride: options.stride, temperature: model.info.temperature || 1 }).promise;
    return { ...found, class: classes[found.target], map: Array.from(found.map),
      milliseconds: performance.now() - started };
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
    /** Which pixels made it a class: occlusion's map, its class and probability, the square, the time. */
    occlusion: async (image, options) => occlusionOne(image, options),
    /** Spearman's rank correlation of two maps (ties averaged, as scipy's spearmanr). */
    spearman: (a, b) => cnnlabOcclusion.spearman(a, b),
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

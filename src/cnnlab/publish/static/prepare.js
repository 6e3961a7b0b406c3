/*
 * cnnlab's image preparation, in the browser: a drawn or dropped image becomes the network input that
 * `cnnlab predict` makes of the same picture (src/cnnlab/data/preprocess.py, `Preprocessing.image`), to 1/255.
 *
 * Preparing a digit
 * -----------------
 * A model trained on handwritten digits learned from MNIST's pictures, which LeCun et al. built from scanned
 * forms: each digit "size normalized to fit in a 20x20 pixel box while preserving their aspect ratio ...
 * centered in a 28x28 image by computing the center of mass of the pixels". A digit drawn on the page (dark
 * ink on white paper, any size) is rebuilt the same way before the network sees it:
 *
 *   1. gray: RGBA as canvas ImageData gives it; transparency goes on white paper, then ITU-R 601-2 luma
 *      (PIL's integer arithmetic, `toGray`);
 *   2. ink: the median of the outer ring is the paper; light paper is inverted, the paper's level
 *      subtracted and the ink stretched to 0..255 (no ink above 24 of 255: "the image is blank");
 *   3. the ink's bounding box (pixels above 64) is cut out;
 *   4. strokes are brought near MNIST's width (2.3 pixels once scaled): a large picture is max-pooled to at
 *      most 4x the box, a thin stroke thickened (dilation), a thick one thinned (erosion, then cut again);
 *   5. scaled, aspect ratio kept, to fit the box (MNIST: 20x20) with PIL's Lanczos resampling of float
 *      images, clipped at 0 and stretched so that the darkest ink is 255;
 *   6. placed with its centre of mass at the centre of the field (MNIST: 28x28), inside it, with the
 *      layout's border around (mnist5k: 2 pixels, LeNet-5's 32x32), rounded to uint8;
 *   7. fitted to the model's input as training fitted the dataset (pad up to 8 pixels, else an
 *      antialiased bilinear resize; gray repeated to RGB or RGB reduced to luma).
 *
 * An image that already looks like the training data (its size is the field's, the image's or the input's,
 * and its border is dark) skips steps 2-6, as in Python. `normalize` then gives `(pixel / 255 - mean) / std`.
 *
 * Not ported: models trained on an image folder (`folder:PATH`: resize of the shorter side and a centre
 * crop), EXIF orientation (browsers apply it when they draw an image), 16-bit and float images (a canvas
 * holds 8 bits), decoding (the browser's PNG decoder gives the same pixels; its JPEG decoder may not).
 *
 * Plain JavaScript without dependencies: `globalThis.cnnlabPrepare` in a browser, `module.exports` under Node.
 * Arithmetic follows Python's dtypes: float32 where NumPy and PyTorch hold float32 (Math.fround), doubles
 * where Python holds floats, and Python's rounding of halves to even.
 */
(function (root) {
  "use strict";

  // The thresholds of src/cnnlab/data/preprocess.py, with its reasons.
  const MNIST_STROKE_WIDTH = 2.3; // median stroke width of mnist5k's 28x28 digits, in pixels
  const THINNEST_STROKE = 1.7; // MNIST's 10th percentile
  const THICKEST_STROKE = 3.0; // MNIST's 90th percentile
  const INK_THRESHOLD = 64; // of 255: the stroke, not its faint antialiased halo
  const BLANK_CONTRAST = 24; // under 10% contrast: noise, not a stroke

  const f32 = Math.fround;

  /** Python's round() and NumPy's np.round: halves go to the even neighbour. */
  function roundHalfEven(x) {
    const floor = Math.floor(x);
    const diff = x - floor;
    if (diff > 0.5) return floor + 1;
    if (diff < 0.5) return floor;
    return floor % 2 === 0 ? floor : floor + 1;
  }

  /** A single-channel float image: `data` row-major, `height` rows of `width`. */
  function plane(width, height, data) {
    return { width, height, data: data || new Float32Array(width * height) };
  }

  // ---- Step 1: the picture as gray pixels on white paper --------------------------------------------

  /** RGBA over white paper (PIL's Image.alpha_composite, integer arithmetic), channel `c` of pixel `i`. */
  function onWhite(rgba, i, c) {
    const alpha = rgba[4 * i + 3];
    if (alpha === 0) return 255;
    // PIL: coef1 = a*255*255*128 / (255*255) = a*128 with the paper's alpha 255; its division by 255 rounded.
    const t = rgba[4 * i + c] * alpha * 128 + 255 * (255 - alpha) * 128 + (0x80 << 7);
    return (((t >> 8) + t) >> 8) >> 7;
  }

  /**
   * Canvas RGBA -> gray 0..255 (Uint8Array), as `to_pil` + `image.convert("L")`: transparent pixels go on
   * white paper (`_on_white_paper`), then PIL's ITU-R 601-2 luma L = (19595 R + 38470 G + 7471 B + 2^15) >> 16,
   * i.e. R*299/1000 + G*587/1000 + B*114/1000 rounded.
   */
  function toGray(rgba, width, height) {
    checkPixels(rgba, width, height);
    const gray = new Uint8Array(width * height);
    for (let i = 0; i < gray.length; i++) {
      const r = onWhite(rgba, i, 0);
      const g = onWhite(rgba, i, 1);
      const b = onWhite(rgba, i, 2);
      gray[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16;
    }
    return gray;
  }

  /** Canvas RGBA -> RGB on white paper, channels first (3 x H x W), as `image.convert("RGB")` after it. */
  function toRgb(rgba, width, height) {
    checkPixels(rgba, width, height);
    const n = width * height;
    const rgb = new Uint8Array(3 * n);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < 3; c++) rgb[c * n + i] = onWhite(rgba, i, c);
    }
    return rgb;
  }

  function checkPixels(rgba, width, height) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new Error(`an image is at least 1x1 pixels, got ${width}x${height}`);
    }
    if (!rgba || rgba.length !== 4 * width * height) {
      const got = rgba ? rgba.length : rgba;
      throw new Error(`a ${width}x${height} RGBA image has ${4 * width * height} values, got ${got}`);
    }
  }

  // ---- Step 2: ink as light on black ------------------------------------------------------------------

  /** The median of the outer ring (`_border_median`): the background. Corners count twice, as in NumPy. */
  function borderMedian(image) {
    const { width: w, height: h, data } = image;
    const ring = Math.max(1, Math.floor(Math.min(h, w) / 20));
    const values = new Float32Array(4 * ring * (w + h));
    let n = 0;
    for (let y = 0; y < ring; y++) for (let x = 0; x < w; x++) values[n++] = data[y * w + x];
    for (let y = h - ring; y < h; y++) for (let x = 0; x < w; x++) values[n++] = data[y * w + x];
    for (let y = 0; y < h; y++) for (let x = 0; x < ring; x++) values[n++] = data[y * w + x];
    for (let y = 0; y < h; y++) for (let x = w - ring; x < w; x++) values[n++] = data[y * w + x];
    const sorted = values.subarray(0, n).sort();
    const middle = n >> 1;
    return n % 2 ? sorted[middle] : f32((sorted[middle - 1] + sorted[middle]) / 2);
  }

  /** `_ink`: invert light paper, subtract the paper's level, stretch the ink to 0..255 (float32). */
  function ink(gray, width, height, name) {
    const image = plane(width, height, Float32Array.from(gray));
    let background = borderMedian(image);
    const data = image.data;
    if (background > 127.5) {
      // light paper, dark ink
      for (let i = 0; i < data.length; i++) data[i] = 255 - data[i];
      background = 255 - background;
    }
    let top = 0;
    for (let i = 0; i < data.length; i++) {
      data[i] = Math.max(f32(data[i] - background), 0);
      if (data[i] > top) top = data[i];
    }
    if (top < BLANK_CONTRAST) {
      throw new Error(
        `found no digit in ${name}: the image is blank (no ink darker or lighter than its background)`,
      );
    }
    const stretch = f32(255 / top);
    for (let i = 0; i < data.length; i++) data[i] = f32(data[i] * stretch);
    return image;
  }

  // ---- Step 3: the ink's bounding box -----------------------------------------------------------------

  /** `_crop_to_ink`: the smallest rectangle holding every pixel above INK_THRESHOLD. */
  function cropToInk(image) {
    const { width: w, height: h, data } = image;
    let top = h;
    let bottom = -1;
    let left = w;
    let right = -1;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (data[y * w + x] > INK_THRESHOLD) {
          if (y < top) top = y;
          bottom = y;
          if (x < left) left = x;
          if (x > right) right = x;
        }
      }
    }
    if (bottom < 0) throw new Error("no pixel of the image is above the ink threshold");
    const out = plane(right - left + 1, bottom - top + 1);
    for (let y = 0; y < out.height; y++) {
      out.data.set(data.subarray((top + y) * w + left, (top + y) * w + right + 1), y * out.width);
    }
    return out;
  }

  // ---- Step 4: MNIST's stroke width -------------------------------------------------------------------

  /** `_stroke_width`: a stroke of width w and length L has area wL and a boundary about 2L long. */
  function strokeWidth(image) {
    const { width: w, height: h, data } = image;
    const on = (x, y) => x >= 0 && y >= 0 && x < w && y < h && data[y * w + x] > INK_THRESHOLD;
    let area = 0;
    let boundary = 0;
    // the mask padded by one pixel, so that a stroke on the edge has a boundary there too
    for (let y = -1; y <= h; y++) {
      for (let x = -1; x <= w; x++) {
        const here = on(x, y);
        if (here) area++;
        if (x < w && here !== on(x + 1, y)) boundary++;
        if (y < h && here !== on(x, y + 1)) boundary++;
      }
    }
    return (2 * area) / Math.max(boundary, 1);
  }

  /**
   * Max (or min) over a `size` x `size` window moving by `stride`, windows starting at `-pad`: PyTorch's
   * max_pool2d (padding never wins; ceil_mode keeps a last partial window that starts inside the image).
   * Separable: rows first, then columns (max and min are exact, so the order changes nothing).
   */
  function pool(image, size, stride, pad, outWidth, outHeight, pick) {
    const { width: w, height: h, data } = image;
    const rows = new Float32Array(outWidth * h);
    for (let y = 0; y < h; y++) {
      for (let ox = 0; ox < outWidth; ox++) {
        const start = Math.max(ox * stride - pad, 0);
        const end = Math.min(ox * stride - pad + size, w);
        let best = data[y * w + start];
        for (let x = start + 1; x < end; x++) best = pick(best, data[y * w + x]);
        rows[y * outWidth + ox] = best;
      }
    }
    const out = plane(outWidth, outHeight);
    for (let oy = 0; oy < outHeight; oy++) {
      const start = Math.max(oy * stride - pad, 0);
      const end = Math.min(oy * stride - pad + size, h);
      for (let x = 0; x < outWidth; x++) {
        let best = rows[start * outWidth + x];
        for (let y = start + 1; y < end; y++) best = pick(best, rows[y * outWidth + x]);
        out.data[oy * outWidth + x] = best;
      }
    }
    return out;
  }

  function padZeros(image, pad) {
    const out = plane(image.width + 2 * pad, image.height + 2 * pad);
    for (let y = 0; y < image.height; y++) {
      out.data.set(image.data.subarray(y * image.width, (y + 1) * image.width), (y + pad) * out.width + pad);
    }
    return out;
  }

  /**
   * `_normalize_stroke`: bring the stroke width near MNIST's, as it will be once the digit fits `box`.
   * A large picture is first max-pooled (every line kept at full ink) to at most 4x the box; a thin stroke
   * is thickened, a thick one thinned by at most a quarter of its width each side.
   */
  function normalizeStroke(image, box) {
    const max = Math.max;
    const factor = Math.floor(max(image.width, image.height) / (4 * box));
    if (factor > 1) {
      // ceil_mode: a partial last window counts
      image = pool(image, factor, factor, 0, Math.ceil(image.width / factor), Math.ceil(image.height / factor), max);
    }
    const scale = box / max(image.width, image.height);
    const width = strokeWidth(image);
    if (width * scale < THINNEST_STROKE) {
      const grow = max(1, roundHalfEven((MNIST_STROKE_WIDTH / scale - width) / 2));
      const padded = padZeros(image, grow); // strokes on the edge grow outwards too
      return pool(padded, 2 * grow + 1, 1, grow, padded.width, padded.height, max);
    }
    if (width * scale > THICKEST_STROKE) {
      const shrink = Math.min(roundHalfEven((width - MNIST_STROKE_WIDTH / scale) / 2), Math.trunc(width / 4));
      if (shrink >= 1) {
        return cropToInk(pool(image, 2 * shrink + 1, 1, shrink, image.width, image.height, Math.min));
      }
    }
    return image;
  }

  // ---- Step 5: scaled to fit the box ------------------------------------------------------------------

  function sinc(x) {
    if (x === 0) return 1;
    const t = x * Math.PI;
    return Math.sin(t) / t;
  }

  /** Lanczos, a = 3: a sinc windowed by a sinc three times wider. */
  function lanczos(x) {
    return -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
  }

  /** The triangle of linear interpolation (support 1). */
  function triangle(x) {
    const a = Math.abs(x);
    return a < 1 ? 1 - a : 0;
  }

  /**
   * Pillow's separable resampling weights for one axis (its documented convolution resize): output pixel
   * `i` of `outSize` centres on (i + 0.5) * scale in the input; when shrinking, the filter is stretched by
   * the scale (support * scale input pixels each side) so that it averages what it drops; each output
   * pixel's weights are normalised to sum to 1. Doubles throughout, as Pillow's C.
   */
  function pillowWeights(inSize, outSize, filter, support) {
    const scale = inSize / outSize;
    const filterScale = Math.max(scale, 1);
    const reach = support * filterScale;
    const starts = new Int32Array(outSize);
    const weights = [];
    const step = 1 / filterScale; // Pillow multiplies by the reciprocal
    for (let i = 0; i < outSize; i++) {
      const centre = (i + 0.5) * scale;
      const first = Math.max(Math.trunc(centre - reach + 0.5), 0);
      const last = Math.min(Math.trunc(centre + reach + 0.5), inSize);
      const w = new Float64Array(Math.max(last - first, 0));
      let total = 0;
      for (let k = 0; k < w.length; k++) {
        w[k] = filter((k + first - centre + 0.5) * step);
        total += w[k];
      }
      if (total !== 0) for (let k = 0; k < w.length; k++) w[k] /= total;
      starts[i] = first;
      weights.push(w);
    }
    return { starts, weights };
  }

  /**
   * `Image.fromarray(float32).resize(size, LANCZOS)`: PIL's mode "F" resampling. Horizontal pass first,
   * then vertical, each skipped where the size does not change; sums in doubles, stored as float32.
   */
  function resizeLanczos(image, outWidth, outHeight) {
    let current = image;
    if (outWidth !== current.width) {
      const { starts, weights } = pillowWeights(current.width, outWidth, lanczos, 3);
      const out = plane(outWidth, current.height);
      for (let y = 0; y < current.height; y++) {
        const row = y * current.width;
        for (let x = 0; x < outWidth; x++) {
          const w = weights[x];
          let sum = 0;
          for (let k = 0; k < w.length; k++) sum += current.data[row + starts[x] + k] * w[k];
          out.data[y * outWidth + x] = sum; // Float32Array: rounded to float32
        }
      }
      current = out;
    }
    if (outHeight !== current.height) {
      const { starts, weights } = pillowWeights(current.height, outHeight, lanczos, 3);
      const out = plane(current.width, outHeight);
      for (let y = 0; y < outHeight; y++) {
        const w = weights[y];
        for (let x = 0; x < current.width; x++) {
          let sum = 0;
          for (let k = 0; k < w.length; k++) sum += current.data[(starts[y] + k) * current.width + x] * w[k];
          out.data[y * current.width + x] = sum;
        }
      }
      current = out;
    }
    return current === image ? plane(image.width, image.height, image.data.slice()) : current;
  }

  // ---- Step 6: centred by centre of mass in the field -------------------------------------------------

  /** `_place`: the patch with its centre of mass at the centre of the field, inside it, plus the border. */
  function place(patch, layout) {
    const { width: w, height: h, data } = patch;
    let mass = 0;
    let momentY = 0;
    let momentX = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const v = data[y * w + x];
        mass += v;
        momentY += v * y;
        momentX += v * x;
      }
    }
    const middle = (layout.field - 1) / 2;
    const clamp = (value, high) => Math.min(Math.max(value, 0), high);
    const top = layout.border + clamp(roundHalfEven(middle - momentY / mass), layout.field - h);
    const left = layout.border + clamp(roundHalfEven(middle - momentX / mass), layout.field - w);
    const size = layout.image_size;
    const out = new Uint8Array(size * size);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        out[(top + y) * size + left + x] = Math.min(Math.max(roundHalfEven(data[y * w + x]), 0), 255);
      }
    }
    return out;
  }

  /**
   * `normalize_digit`: a picture of one digit in the MNIST convention, light ink on black, scaled to fit
   * `layout.box` with its aspect ratio kept and centred by centre of mass in `layout.field` (LeCun et al.'s
   * construction of MNIST), with `layout.border` black pixels around. Returns image_size x image_size uint8.
   */
  function normalizeDigit(gray, width, height, layout, name) {
    const digit = normalizeStroke(cropToInk(ink(gray, width, height, name)), layout.box);
    const scale = layout.box / Math.max(digit.width, digit.height);
    const outWidth = Math.max(1, roundHalfEven(digit.width * scale));
    const outHeight = Math.max(1, roundHalfEven(digit.height * scale));
    const patch = resizeLanczos(digit, outWidth, outHeight);
    let top = 0;
    for (let i = 0; i < patch.data.length; i++) {
      if (patch.data[i] < 0) patch.data[i] = 0;
      if (patch.data[i] > top) top = patch.data[i];
    }
    const stretch = f32(255 / Math.max(top, 1e-6));
    for (let i = 0; i < patch.data.length; i++) patch.data[i] = f32(patch.data[i] * stretch);
    return place(patch, layout);
  }

  // ---- Step 7: the model's input size and channels ----------------------------------------------------

  /**
   * PyTorch's F.interpolate(bilinear, antialias=True, align_corners=False) of one float32 plane: the same
   * convolution as Pillow's with the triangle filter, in float32 as PyTorch computes it for float tensors.
   * Its CPU kernel multiplies and adds in one step (a fused multiply-add: the product is not rounded
   * before the sum), so here the product of two float32 values stays exact in a double until the sum is
   * rounded: bit-exact against PyTorch 2.x on x86-64, where rounding the product apart was off by 1/255
   * on one pixel of a 28x28 upscale.
   */
  function resizeBilinearAA(image, outWidth, outHeight) {
    const axis = (inSize, outSize) => {
      const scale = f32(inSize / outSize);
      const reach = scale >= 1 ? scale : 1;
      const inverse = scale >= 1 ? f32(1 / scale) : 1;
      const starts = new Int32Array(outSize);
      const weights = [];
      for (let i = 0; i < outSize; i++) {
        const centre = f32(scale * (i + 0.5));
        const first = Math.max(Math.trunc(f32(f32(centre - reach) + 0.5)), 0);
        const last = Math.min(Math.trunc(f32(f32(centre + reach) + 0.5)), inSize);
        const w = new Float32Array(Math.max(last - first, 0));
        let total = 0;
        for (let k = 0; k < w.length; k++) {
          w[k] = triangle(f32(f32(f32(k + first - centre) + 0.5) * inverse));
          total = f32(total + w[k]);
        }
        if (total !== 0) for (let k = 0; k < w.length; k++) w[k] = f32(w[k] / total);
        starts[i] = first;
        weights.push(w);
      }
      return { starts, weights };
    };
    let current = image;
    if (outWidth !== current.width) {
      const { starts, weights } = axis(current.width, outWidth);
      const out = plane(outWidth, current.height);
      for (let y = 0; y < current.height; y++) {
        for (let x = 0; x < outWidth; x++) {
          const w = weights[x];
          let sum = 0;
          for (let k = 0; k < w.length; k++) sum = f32(sum + current.data[y * current.width + starts[x] + k] * w[k]);
          out.data[y * outWidth + x] = sum;
        }
      }
      current = out;
    }
    if (outHeight !== current.height) {
      const { starts, weights } = axis(current.height, outHeight);
      const out = plane(current.width, outHeight);
      for (let y = 0; y < outHeight; y++) {
        const w = weights[y];
        for (let x = 0; x < current.width; x++) {
          let sum = 0;
          for (let k = 0; k < w.length; k++) sum = f32(sum + current.data[(starts[y] + k) * current.width + x] * w[k]);
          out.data[y * current.width + x] = sum;
        }
      }
      current = out;
    }
    return current;
  }

  /**
   * `fit_image`: uint8 pixels (C x h x w, channels first) fitted to `channels` x `height` x `width` as
   * training fits a dataset: gray -> RGB repeats the channel, RGB -> gray takes the luma (0.299, 0.587,
   * 0.114, rounded); a size up to 8 pixels short (an even number) is padded with black (LeNet-5's 28 -> 32),
   * any other is resized with PyTorch's antialiased bilinear interpolation.
   */
  function fitImage(pixels, have, h, w, channels, height, width) {
    const n = h * w;
    let planes = pixels;
    if (have !== channels) {
      if (have === 1) {
        planes = new Uint8Array(channels * n);
        for (let c = 0; c < channels; c++) planes.set(pixels.subarray(0, n), c * n);
      } else if (have === 3 && channels === 1) {
        const luma = [f32(0.299), f32(0.587), f32(0.114)];
        planes = new Uint8Array(n);
        for (let i = 0; i < n; i++) {
          let sum = 0;
          for (let c = 0; c < 3; c++) sum = f32(sum + f32(pixels[c * n + i] * luma[c]));
          planes[i] = Math.min(Math.max(roundHalfEven(sum), 0), 255);
        }
      } else {
        throw new Error(`the image has ${have}-channel pixels and the model takes ${channels}`);
      }
    }
    if (h === height && w === width) return planes;
    const extraH = height - h;
    const extraW = width - w;
    const out = new Uint8Array(channels * height * width);
    if (extraH >= 0 && extraH <= 8 && extraW >= 0 && extraW <= 8 && extraH % 2 === 0 && extraW % 2 === 0) {
      for (let c = 0; c < channels; c++) {
        for (let y = 0; y < h; y++) {
          const from = c * n + y * w;
          out.set(planes.subarray(from, from + w), c * height * width + (y + extraH / 2) * width + extraW / 2);
        }
      }
      return out;
    }
    for (let c = 0; c < channels; c++) {
      const channel = plane(w, h, Float32Array.from(planes.subarray(c * n, (c + 1) * n)));
      const resized = resizeBilinearAA(channel, width, height);
      for (let i = 0; i < height * width; i++) {
        out[c * height * width + i] = Math.min(Math.max(roundHalfEven(resized.data[i]), 0), 255);
      }
    }
    return out;
  }

  // ---- The whole preparation --------------------------------------------------------------------------

  function fullLayout(layout) {
    if (layout === null || layout === undefined) return null;
    const border = layout.border || 0;
    return { field: layout.field, box: layout.box, border, image_size: layout.field + 2 * border };
  }

  /** `_looks_like_training_data`: a dataset image saved to a file (its size, light ink on black). */
  function looksLikeTrainingData(gray, width, height, layout, inputSize) {
    const sizes = [
      [layout.field, layout.field],
      [layout.image_size, layout.image_size],
      [inputSize[1], inputSize[2]],
    ];
    if (!sizes.some(([h, w]) => h === height && w === width)) return false;
    return borderMedian(plane(width, height, Float32Array.from(gray))) <= 127.5;
  }

  /**
   * A canvas image as the model's uint8 input, as `Preprocessing(...).image(source, mode)` makes it.
   *
   * @param {Uint8ClampedArray|Uint8Array} rgba - RGBA pixels, row-major, as ImageData.data.
   * @param {number} width - in pixels.
   * @param {number} height - in pixels.
   * @param {{field: number, box: number, border?: number}|null} layout - where digits sit in the training
   *   images (Python's DigitLayout, `Preprocessing.to_dict()["digits"]`); null for a model not trained on digits.
   * @param {object} [options]
   * @param {number[]} [options.input_size] - the model's (C, H, W); default (1, image_size, image_size).
   * @param {string} [options.channels] - "gray" (default) or "rgb": the training images' channels.
   * @param {string} [options.mode] - "auto" (default), "digit" or "resize", as `cnnlab predict --preprocess`.
   * @param {string} [options.name] - what the blank-image error calls the image (default "image").
   * @param {string} [options.dataset] - the training dataset, if known: an image folder's models
   *   (`folder:PATH`) are refused, their preparation (shorter side resized, centre crop) is not ported.
   * @returns {{pixels: Uint8Array, channels: number, height: number, width: number}} channels first.
   */
  function prepare(rgba, width, height, layout, options = {}) {
    const digits = fullLayout(layout);
    const mode = options.mode || "auto";
    if (typeof options.dataset === "string" && options.dataset.startsWith("folder:") && mode === "auto") {
      throw new Error(`a model trained on an image folder (${options.dataset}) is prepared in Python only`);
    }
    if (!["auto", "digit", "resize"].includes(mode)) {
      throw new Error(`<preprocess> must be one of auto, digit, resize, got '${mode}'`);
    }
    if (mode === "digit" && digits === null) {
      throw new Error("<preprocess=digit> is for models trained on digits; this one was not");
    }
    const inputSize = options.input_size || (digits ? [1, digits.image_size, digits.image_size] : null);
    if (!inputSize) throw new Error("options.input_size (C, H, W) is needed for a model not trained on digits");
    const [channels, outHeight, outWidth] = inputSize;
    const gray = toGray(rgba, width, height);
    let pixels;
    let have = 1;
    let h = height;
    let w = width;
    if (
      digits &&
      (mode === "digit" || (mode === "auto" && !looksLikeTrainingData(gray, width, height, digits, inputSize)))
    ) {
      pixels = normalizeDigit(gray, width, height, digits, options.name || "image");
      h = w = digits.image_size;
    } else if ((options.channels || "gray") === "gray" || channels === 1) {
      // Python: a gray dataset, or a model taking one channel
      pixels = gray;
    } else {
      pixels = toRgb(rgba, width, height);
      have = 3;
    }
    const fitted = fitImage(pixels, have, h, w, channels, outHeight, outWidth);
    return { pixels: fitted, channels, height: outHeight, width: outWidth };
  }

  /**
   * uint8 pixels (channels first) -> the model's float input, `(pixel / 255 - mean) / std` per channel,
   * in float32 as PyTorch computes it (`Normalization.apply`).
   */
  function normalize(pixels, normalization, channels = normalization.mean.length) {
    const out = new Float32Array(pixels.length);
    const n = pixels.length / channels;
    for (let c = 0; c < channels; c++) {
      const mean = f32(normalization.mean[c]);
      const std = f32(normalization.std[c]);
      for (let i = c * n; i < (c + 1) * n; i++) out[i] = f32(f32(f32(pixels[i] / 255) - mean) / std);
    }
    return out;
  }

  const api = { prepare, normalize, toGray, toRgb, normalizeDigit, fitImage, roundHalfEven };
  root.cnnlabPrepare = api;
  if (typeof module !== "undefined" && module.exports) module.exports = api;
})(typeof globalThis !== "undefined" ? globalThis : this);

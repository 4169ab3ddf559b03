// Dataspace evalscript V3 library: the globals that evalscripts expect (visualizers, helpers,
// constants), written from the documented behaviour (Evalscript/Functions.qmd), plus the hidden
// batch driver that runs evaluatePixel over typed arrays. Compiled once per isolate and run once
// in each new context, before the user's script (which may then run in it for several requests
// of the same owner: see instantiate and release, and README.md "Warm contexts").
//
// Every global is a plain, configurable property of the global object (never a lexical or var
// declaration): a user script may therefore redeclare any of them with function/var/let/const/class
// (many public scripts define their own `index` or `ColorRampVisualizer`). Internally the library
// only uses its own local bindings, so such redefinitions do not change the visualizers.
//
// The completion value of this script is the driver object used by script.cpp; it is never
// reachable from user code.
(function (global) {
  'use strict';

  // Builtins captured before user code runs (a script may overwrite the globals).
  const NativeArray = Array;
  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const jsonParse = JSON.parse;
  const jsonStringify = JSON.stringify;
  const makeFunction = Function;
  const floor = Math.floor;
  const round = Math.round;
  const pow = Math.pow;
  const mathMax = Math.max;
  const mathMin = Math.min;
  const NativeDate = Date;
  const NativeError = Error;
  const NativeMap = Map;
  const mapGet = Map.prototype.get, mapHas = Map.prototype.has, mapSet = Map.prototype.set;
  const {apply, ownKeys, getOwnPropertyDescriptor: ownDescriptor, deleteProperty, isExtensible, getPrototypeOf,
    setPrototypeOf} = Reflect;
  const same = Object.is;

  function define(name, value) {
    Object.defineProperty(global, name, {value: value, writable: true, configurable: true, enumerable: false});
  }

  // ---- constants ----------------------------------------------------------------------------
  const JAVA_DOUBLE_MAX_VAL = 1.7976931348623157e308;

  // Colour tables in their documented form: position in [0, 1] (listed from 1 down to 0), colour.
  const blueRed = [
    [1.0, 0x000080], [0.875, 0x0000ff], [0.625, 0x00ffff], [0.375, 0xffff00], [0.125, 0xff0000], [0.0, 0x800000],
  ];
  const redTemperature = [[1.0, 0x000000], [0.525, 0xae0000], [0.3, 0xff6e00], [0.25, 0xff8600], [0.0, 0xffffff]];
  const greenWhite = [[1.0, 0x000000], [0.6, 0x006600], [0.3, 0x80b300], [0.0, 0xffffff]];
  const oceanColorRgb = [
    [0.0, [147, 0, 108]], [0.0471, [111, 0, 144]], [0.098, [72, 0, 183]], [0.149, [33, 0, 222]],
    [0.2, [0, 10, 255]], [0.2471, [0, 74, 255]], [0.298, [0, 144, 255]], [0.349, [0, 213, 255]],
    [0.4, [0, 255, 215]], [0.4471, [0, 255, 119]], [0.498, [0, 255, 15]], [0.549, [96, 255, 0]],
    [0.6, [200, 255, 0]], [0.6471, [255, 235, 0]], [0.698, [255, 183, 0]], [0.749, [255, 131, 0]],
    [0.8, [255, 79, 0]], [0.8471, [255, 31, 0]], [0.898, [230, 0, 0]], [0.949, [165, 0, 0]], [1.0, [105, 0, 0]],
  ];

  // ---- colour helpers -----------------------------------------------------------------------
  function int2rgb(color) {
    const c = color >>> 0;
    return [(c >>> 16) & 0xff, (c >>> 8) & 0xff, c & 0xff];
  }

  function rgb2int(rgb) {
    return ((rgb[0] & 0xff) << 16) + ((rgb[1] & 0xff) << 8) + (rgb[2] & 0xff);
  }

  // A colour as an integer (0xRRGGBB) or a string "#RRGGBB" / "RRGGBB" → [r, g, b] in 0..255.
  function hex2rgb(hex) {
    if (typeof hex === 'string') {
      let s = hex.charAt(0) === '#' ? hex.slice(1) : hex;
      if (s.length === 3) s = s[0] + s[0] + s[1] + s[1] + s[2] + s[2];
      return int2rgb(parseInt(s, 16));
    }
    return int2rgb(hex);
  }

  function rgb2hex(rgb) {
    return rgb2int(rgb);
  }

  function normalizeRGB(rgb255) {
    const out = new Array(rgb255.length);
    for (let i = 0; i < rgb255.length; i++) out[i] = rgb255[i] / 255;
    return out;
  }

  // Arrays: component-wise color1 * alpha + color2 * (1 - alpha). Integers (0xRRGGBB): the same
  // per channel, rounded, as an integer colour.
  function combine(color1, color2, alpha) {
    if (isArray(color1) || isView(color1)) {
      const out = new Array(color1.length);
      for (let i = 0; i < color1.length; i++) out[i] = color1[i] * alpha + color2[i] * (1 - alpha);
      return out;
    }
    const a = int2rgb(color1), b = int2rgb(color2);
    return rgb2int([round(a[0] * alpha + b[0] * (1 - alpha)), round(a[1] * alpha + b[1] * (1 - alpha)),
      round(a[2] * alpha + b[2] * (1 - alpha))]);
  }

  // ---- numeric helpers ----------------------------------------------------------------------
  function index(x, y) {
    const sum = x + y;
    return sum === 0 ? 0 : (x - y) / sum;
  }

  function inverse(x) {
    return x === 0 ? JAVA_DOUBLE_MAX_VAL : 1 / x;
  }

  function copyValue(v) {
    return isArray(v) ? v.slice() : v;
  }

  // Right-closed bins: the first i with value <= intervals[i] gives values[i]; above the last
  // bound, the last value.
  function valueMap(value, intervals, values) {
    if (!isArray(intervals) || !isArray(values)) return value;
    for (let i = 0; i < intervals.length; i++) {
      if (value <= intervals[i]) return copyValue(values[i]);
    }
    return copyValue(values[values.length - 1]);
  }

  // Piecewise linear through (intervals[i], values[i]), clamped at both ends; values may be
  // numbers or arrays of numbers (interpolated component-wise into a new array).
  function valueInterpolate(value, intervals, values) {
    if (!isArray(intervals) || !isArray(values) || intervals.length === 0) return value;
    if (!(value > intervals[0])) return copyValue(values[0]);
    for (let i = 1; i < intervals.length; i++) {
      if (value <= intervals[i]) {
        const t = (value - intervals[i - 1]) / (intervals[i] - intervals[i - 1]);
        const a = values[i - 1], b = values[i];
        if (typeof a === 'number') return a * (1 - t) + b * t;
        if (isArray(a)) {
          const out = new Array(a.length);
          for (let k = 0; k < a.length; k++) out[k] = a[k] * (1 - t) + b[k] * t;
          return out;
        }
        throw new TypeError('valueInterpolate: values must be numbers or arrays of numbers');
      }
    }
    return copyValue(values[values.length - 1]);
  }

  // Left-closed steps: the first i with value < limits[i] gives colors[i]; else the last colour.
  function colorMap(value, limits, colors) {
    if (!isArray(limits) || !isArray(colors)) return value;
    for (let i = 0; i < limits.length; i++) {
      if (value < limits[i]) return colors[i];
    }
    return colors[colors.length - 1];
  }

  // ---- visualizers --------------------------------------------------------------------------
  // Colours of a table as [r, g, b] in 0..255: integers are 0xRRGGBB; arrays are normalized
  // (0..1) unless some component of the table exceeds 1, then the whole table is read as 0..255.
  function colorsOf(pairs) {
    let scale = 255;
    for (let i = 0; i < pairs.length; i++) {
      const c = pairs[i][1];
      if (isArray(c) && (c[0] > 1 || c[1] > 1 || c[2] > 1)) scale = 1;
    }
    const out = new Array(pairs.length);
    for (let i = 0; i < pairs.length; i++) {
      const c = pairs[i][1];
      out[i] = isArray(c) ? [c[0] * scale, c[1] * scale, c[2] * scale] : int2rgb(c);
    }
    return out;
  }

  function requirePairs(pairs, who) {
    if (!isArray(pairs) || pairs.length === 0) {
      throw new TypeError(who + ' needs a non-empty array of [value, color] pairs');
    }
  }

  function sortedByPosition(positions, colors) {
    const idx = positions.map((_, i) => i);
    idx.sort((a, b) => positions[a] - positions[b] || a - b);
    return {positions: idx.map((i) => positions[i]), colors: idx.map((i) => colors[i])};
  }

  // Interpolation over sorted positions in 0..255 space; each channel is then turned into its
  // 8-bit value: truncated by the ramp, rounded by the deprecated gradient (as documented).
  function interpolateColor(positions, colors, v, truncate) {
    const n = positions.length;
    let a, b, t = 0;
    if (!(v > positions[0])) {
      a = b = colors[0];
    } else if (v >= positions[n - 1]) {
      a = b = colors[n - 1];
    } else {
      let i = 1;
      while (v > positions[i]) i++;
      t = (v - positions[i - 1]) / (positions[i] - positions[i - 1]);
      a = colors[i - 1];
      b = colors[i];
    }
    const r = a[0] + (b[0] - a[0]) * t, g = a[1] + (b[1] - a[1]) * t, bl = a[2] + (b[2] - a[2]) * t;
    if (truncate) return [floor(r + 1e-9) / 255, floor(g + 1e-9) / 255, floor(bl + 1e-9) / 255];
    return [round(r) / 255, round(g) / 255, round(bl) / 255];
  }

  class ColorRampVisualizer {
    // ramps: [[value, 0xRRGGBB | [r, g, b]], ...] in any order; minVal/maxVal rescale the values
    // linearly so that the smallest maps to minVal and the largest to maxVal.
    constructor(ramps, minVal, maxVal) {
      requirePairs(ramps, 'ColorRampVisualizer');
      const s = sortedByPosition(ramps.map((r) => +r[0]), colorsOf(ramps));
      let positions = s.positions;
      let colors = s.colors;
      const lo = positions[0], hi = positions[positions.length - 1];
      if ((minVal !== undefined || maxVal !== undefined) && hi > lo) {
        const nmin = minVal === undefined ? lo : +minVal, nmax = maxVal === undefined ? hi : +maxVal;
        positions = positions.map((p) => nmin + ((p - lo) / (hi - lo)) * (nmax - nmin));
        const r = sortedByPosition(positions, colors);
        positions = r.positions;
        colors = r.colors;
      }
      this.positions = positions;
      this.colors = colors;
    }

    process(value) {
      return interpolateColor(this.positions, this.colors, value, true);
    }

    processList(values) {
      return values.map((v) => this.process(v));
    }

    // The same positions with the colours in reverse order.
    inverse() {
      const v = Object.create(ColorRampVisualizer.prototype);
      v.positions = this.positions.slice();
      v.colors = this.colors.slice().reverse();
      return v;
    }

    // The documented tables list position 1 first; the ramps run from their last colour at
    // minVal to their first at maxVal.
    static createRedTemperature(minVal, maxVal) {
      return new ColorRampVisualizer(redTemperature, minVal, maxVal).inverse();
    }
    static createWhiteGreen(minVal, maxVal) {
      return new ColorRampVisualizer(greenWhite, minVal, maxVal).inverse();
    }
    static createBlueRed(minVal, maxVal) {
      return new ColorRampVisualizer(blueRed, minVal, maxVal).inverse();
    }
    static createOceanColor(minVal, maxVal) {
      return new ColorRampVisualizer(oceanColorRgb, minVal, maxVal);
    }
  }

  // Deprecated: a table position p maps to minVal * p + maxVal * (1 - p); channels rounded.
  class ColorGradientVisualizer {
    constructor(valColPairs, minVal, maxVal) {
      requirePairs(valColPairs, 'ColorGradientVisualizer');
      const lo = minVal === undefined ? 0.0 : +minVal, hi = maxVal === undefined ? 1.0 : +maxVal;
      const s = sortedByPosition(valColPairs.map((p) => lo * p[0] + hi * (1 - p[0])), colorsOf(valColPairs));
      this.positions = s.positions;
      this.colors = s.colors;
      this.minVal = lo;
      this.maxVal = hi;
    }

    process(value) {
      return interpolateColor(this.positions, this.colors, value, false);
    }

    processList(values) {
      return values.map((v) => this.process(v));
    }

    static createRedTemperature(minVal, maxVal) {
      return new ColorGradientVisualizer(redTemperature, minVal, maxVal);
    }
    static createWhiteGreen(minVal, maxVal) {
      return new ColorGradientVisualizer(greenWhite, minVal, maxVal);
    }
    static createBlueRed(minVal, maxVal) {
      return new ColorGradientVisualizer(blueRed, minVal, maxVal);
    }
    static createOceanColor(minVal, maxVal) {
      return new ColorGradientVisualizer(oceanColorRgb.map((p) => [1 - p[0], p[1]]), minVal, maxVal);
    }
  }

  // Discrete steps: the colour of the last entry whose value is <= the input (the first entry's
  // colour below it). Entries are sorted by value.
  class ColorMapVisualizer {
    constructor(valColPairs) {
      requirePairs(valColPairs, 'ColorMapVisualizer');
      const s = sortedByPosition(valColPairs.map((p) => +p[0]), colorsOf(valColPairs));
      this.values = s.positions;
      this.colors = s.colors.map((c) => [c[0] / 255, c[1] / 255, c[2] / 255]);
    }

    process(value) {
      let c = this.colors[0];
      for (let i = 0; i < this.values.length && value >= this.values[i]; i++) c = this.colors[i];
      return c.slice();
    }

    processList(values) {
      return values.map((v) => this.process(v));
    }

    static createDefaultColorMap() {
      return new ColorMapVisualizer([
        [-1.0, 0x000000], [-0.2, 0xff0000], [-0.1, 0x9a0000], [0.0, 0x660000], [0.1, 0xffff33],
        [0.2, 0xcccc33], [0.3, 0x666600], [0.4, 0x33ffff], [0.5, 0x33cccc], [0.6, 0x006666],
        [0.7, 0x33ff33], [0.8, 0x33cc33], [0.9, 0x006600],
      ]);
    }
  }

  // The override globals (EO Browser's "evalscript overrides"): a number set by the script (var,
  // let or plain assignment) replaces the visualizer's constructor argument. They are read from
  // the script's top-level scope through the accessor its first line hands over (script.cpp;
  // n: 0 gainOverride, 1 offsetOverride, 2 gammaOverride, 3 rangeOverrides), else as globals.
  let userScope;
  function override(n) {
    if (userScope !== undefined) return userScope(n);
    /* eslint-disable no-undef */
    return n === 0 ? gainOverride : n === 1 ? offsetOverride : n === 2 ? gammaOverride : rangeOverrides;
    /* eslint-enable no-undef */
  }
  function enterScope(accessor) {
    userScope = accessor;
  }
  function overridden(v, fallback) {
    return typeof v === 'number' && v === v ? v : fallback;
  }

  // Linear stretch of [minValue, maxValue] to [0, 1] with gain, offset, per-channel
  // rangeOverrides and gamma, then optional highlight compression, clamped to [0, 1].
  function stretch(self, val, i, highlight) {
    let v = self.gain * (val - self.minValue) * self.factor + self.offset;
    const ranges = override(3);
    if (i !== undefined && isArray(ranges) && isArray(ranges[i])) {
      v = valueInterpolate(v, [ranges[i][0], ranges[i][1]], [0, 1]);
    }
    if (self.gamma !== 1) v = pow(mathMax(0, v), self.gamma);
    // Values stretched above 0.92 are compressed so that 2 * maxValue - minValue reaches 1
    // (only when maxValue lies in (0, 1)); maxValue itself lands at about 0.9259.
    if (highlight && self.highlight && v > 0.92) v = 0.92 + (v - 0.92) * (0.08 / 1.08);
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }

  function initStretch(self, minValue, maxValue, gain, offset, gamma) {
    self.minValue = minValue === undefined ? 0.0 : minValue;
    self.maxValue = maxValue === undefined ? 1.0 : maxValue;
    self.gain = overridden(override(0), gain === undefined ? 1.0 : gain);
    self.offset = overridden(override(1), offset === undefined ? 0.0 : offset);
    self.gamma = overridden(override(2), gamma === undefined ? 1.0 : gamma);
    self.factor = 1.0 / (self.maxValue - self.minValue);
    self.highlight = self.maxValue > 0 && self.maxValue < 1;
  }

  class HighlightCompressVisualizer {
    constructor(minValue, maxValue, gain, offset, gamma) {
      initStretch(this, minValue, maxValue, gain, offset, gamma);
    }
    process(val, i) {
      return stretch(this, val, i, true);
    }
    processList(values) {
      return values.map((v, i) => this.process(v, i));
    }
  }

  class HighlightCompressVisualizerSingle {
    constructor(minValue, maxValue, gain, offset, gamma) {
      initStretch(this, minValue, maxValue, gain, offset, gamma);
    }
    process(val) {
      return [stretch(this, val, undefined, true)];
    }
    processList(values) {
      return values.map((v) => stretch(this, v, undefined, true));
    }
  }

  class DefaultVisualizer {
    constructor(minValue, maxValue, gain, offset, gamma) {
      initStretch(this, minValue, maxValue, gain, offset, gamma);
    }
    process(val, i) {
      return stretch(this, val, i, false);
    }
    processList(values) {
      return values.map((v, i) => this.process(v, i));
    }
  }

  class Identity {
    process(val) {
      return isArray(val) ? val : [val];
    }
    processList(values) {
      return values.slice();
    }
  }

  // ---- quality-band decoders ----------------------------------------------------------------
  function bits(v, shift, width) {
    return (v >>> shift) & ((1 << width) - 1);
  }

  // Sentinel-3 OLCI QUALITY_FLAGS (32 bits): flags in bits 31..21, saturation of band Oa<n> in
  // bit n - 1.
  function decodeS3OLCIQualityFlags(value) {
    const v = value >>> 0;
    const out = {
      land: bits(v, 31, 1), coastline: bits(v, 30, 1), fresh_inland_water: bits(v, 29, 1),
      tidal_region: bits(v, 28, 1), bright: bits(v, 27, 1), straylight_risk: bits(v, 26, 1),
      invalid: bits(v, 25, 1), cosmetic: bits(v, 24, 1), duplicated: bits(v, 23, 1),
      sun_glint_risk: bits(v, 22, 1), dubious: bits(v, 21, 1),
    };
    for (let b = 1; b <= 21; b++) out['saturatedB' + (b < 10 ? '0' : '') + b] = bits(v, b - 1, 1);
    return out;
  }

  // Landsat 8/9 Collection 2 QA_PIXEL.
  function decodeL8C2Qa(value) {
    const v = value >>> 0;
    return {
      fill: bits(v, 0, 1), dilatedCloud: bits(v, 1, 1), cirrus: bits(v, 2, 1), cloud: bits(v, 3, 1),
      cloudShadow: bits(v, 4, 1), snow: bits(v, 5, 1), clear: bits(v, 6, 1), water: bits(v, 7, 1),
      cloudConfidence: bits(v, 8, 2), cloudShadowConfidence: bits(v, 10, 2), snowIceConfidence: bits(v, 12, 2),
      cirrusConfidence: bits(v, 14, 2),
    };
  }

  // Landsat 8 Collection 1 BQA.
  function decodeLs8Qa(value) {
    const v = value >>> 0;
    return {
      designatedFill: bits(v, 0, 1), terrainOcclusion: bits(v, 1, 1), radiometricSaturation: bits(v, 2, 2),
      cloud: bits(v, 4, 1), cloudConfidence: bits(v, 5, 2), cloudShadowConfidence: bits(v, 7, 2),
      snowIceConfidence: bits(v, 9, 2), cirrusConfidence: bits(v, 11, 2),
    };
  }

  // ---- a faster Array.prototype.concat -------------------------------------------------------
  // V8 10.2's builtin concat costs ~300 ns per call, and `visualizer.process(v).concat(dataMask)`
  // is how most public scripts add their alpha band. Plain arrays and primitive arguments take
  // this path (holes preserved); anything else (subclasses, array-likes, isConcatSpreadable,
  // non-array receivers) goes to the builtin, so results are those of the builtin.
  const nativeConcat = Array.prototype.concat;
  const spreadable = Symbol.isConcatSpreadable;
  const plainArray = (a) => isArray(a) && a.constructor === NativeArray && a[spreadable] === undefined;
  const concat = {
    concat(item) {  // eslint-disable-line no-unused-vars
      const self = this;
      const args = arguments;
      if (!plainArray(self)) return nativeConcat.apply(self, args);
      let total = self.length;
      for (let k = 0; k < args.length; k++) {
        const a = args[k];
        if (typeof a === 'object' && a !== null) {
          if (!plainArray(a)) return nativeConcat.apply(self, args);
          total += a.length;
        } else if (typeof a === 'function') {
          return nativeConcat.apply(self, args);
        } else {
          total += 1;
        }
      }
      const out = new NativeArray(total);
      let n = 0;
      for (let i = 0; i < self.length; i++, n++) if (i in self) out[n] = self[i];
      for (let k = 0; k < args.length; k++) {
        const a = args[k];
        if (typeof a === 'object' && a !== null) {
          for (let i = 0; i < a.length; i++, n++) if (i in a) out[n] = a[i];
        } else {
          out[n++] = a;
        }
      }
      return out;
    },
  }.concat;
  Object.defineProperty(Array.prototype, 'concat', {value: concat, writable: true, configurable: true});

  // Array.prototype.fill over a huge array runs in one builtin call that V8 cannot interrupt, so
  // `new Array(1e8).fill(0)` would grow the heap past every limit. Large plain arrays are filled
  // by a JavaScript loop instead, which the heap guard and the watchdog can stop.
  const nativeFill = Array.prototype.fill;
  const toIndex = (v, len, dflt) => {
    if (v === undefined) return dflt;
    let n = +v;
    if (n !== n) n = 0;
    n = n < 0 ? (n > -Infinity ? Math.ceil(n) : -Infinity) : floor(n);
    return n < 0 ? mathMax(len + n, 0) : mathMin(n, len);
  };
  const fill = {
    fill(value) {  // eslint-disable-line no-unused-vars
      const self = this;
      if (!isArray(self) || self.length <= 65536) return nativeFill.apply(self, arguments);
      const len = self.length;
      const end = toIndex(arguments[2], len, len);
      for (let k = toIndex(arguments[1], len, 0); k < end; k++) self[k] = value;
      return self;
    },
  }.fill;
  Object.defineProperty(Array.prototype, 'fill', {value: fill, writable: true, configurable: true});

  // Other builtins that build one huge object in a single call V8 cannot interrupt (the heap
  // guard would only see it after V8 had already aborted the process): refuse sizes no per-pixel
  // script needs. Array.from over an array-like of 1e8 elements, 'x'.repeat(5e8)...
  const kMaxElements = 16777216;  // 2^24
  const kMaxChars = 67108864;     // 2^26
  const tooLarge = (what, n) => {
    throw new RangeError(`${what} of ${n} elements is larger than evalscripts allow (${kMaxElements})`);
  };
  const nativeFrom = Array.from;
  const from = {
    from(items) {  // eslint-disable-line no-unused-vars
      if (items !== null && items !== undefined && typeof items !== 'string') {
        const n = +items.length;
        if (n > kMaxElements) tooLarge('Array.from', n);
        const size = +items.size;
        if (size > kMaxElements) tooLarge('Array.from', size);
      }
      return nativeFrom.apply(this, arguments);
    },
  }.from;
  Object.defineProperty(Array, 'from', {value: from, writable: true, configurable: true});
  const guardChars = (name, native, count) => {
    const guarded = {
      [name]() {
        const n = count(String(this), arguments);
        if (n > kMaxChars) throw new RangeError(`String.prototype.${name} would make ${n} characters (at most ${kMaxChars})`);
        return native.apply(this, arguments);
      },
    }[name];
    Object.defineProperty(String.prototype, name, {value: guarded, writable: true, configurable: true});
  };
  guardChars('repeat', String.prototype.repeat, (s, a) => s.length * (+a[0] || 0));
  guardChars('padStart', String.prototype.padStart, (s, a) => +a[0] || 0);
  guardChars('padEnd', String.prototype.padEnd, (s, a) => +a[0] || 0);
  const nativeJoin = Array.prototype.join;
  const join = {
    join(separator) {  // eslint-disable-line no-unused-vars
      if (isArray(this) && this.length > kMaxElements) tooLarge('Array.prototype.join', this.length);
      return nativeJoin.apply(this, arguments);
    },
  }.join;
  Object.defineProperty(Array.prototype, 'join', {value: join, writable: true, configurable: true});

  // ---- globals ------------------------------------------------------------------------------
  const noop = function () {};
  define('console', {log: noop, info: noop, warn: noop, error: noop, debug: noop, trace: noop});
  define('JAVA_DOUBLE_MAX_VAL', JAVA_DOUBLE_MAX_VAL);
  define('blueRed', blueRed.map((p) => p.slice()));
  define('redTemperature', redTemperature.map((p) => p.slice()));
  define('greenWhite', greenWhite.map((p) => p.slice()));
  define('oceanColor', oceanColorRgb.map((p) => [p[0], normalizeRGB(p[1])]));
  define('SampleType', Object.freeze({
    AUTO: 'AUTO', INT8: 'INT8', UINT8: 'UINT8', INT16: 'INT16', UINT16: 'UINT16', FLOAT32: 'FLOAT32',
  }));
  define('Mosaicking', Object.freeze({SIMPLE: 'SIMPLE', ORBIT: 'ORBIT', TILE: 'TILE'}));
  define('gainOverride', undefined);
  define('offsetOverride', undefined);
  define('gammaOverride', undefined);
  define('rangeOverrides', undefined);
  define('int2rgb', int2rgb);
  define('rgb2int', rgb2int);
  define('hex2rgb', hex2rgb);
  define('rgb2hex', rgb2hex);
  define('normalizeRGB', normalizeRGB);
  define('combine', combine);
  define('index', index);
  define('inverse', inverse);
  define('valueMap', valueMap);
  define('valueInterpolate', valueInterpolate);
  define('colorBlend', valueInterpolate);
  define('colorMap', colorMap);
  define('ColorRampVisualizer', ColorRampVisualizer);
  define('ColorGradientVisualizer', ColorGradientVisualizer);
  define('ColorMapVisualizer', ColorMapVisualizer);
  define('HighlightCompressVisualizer', HighlightCompressVisualizer);
  define('HighlightCompressVisualizerSingle', HighlightCompressVisualizerSingle);
  define('DefaultVisualizer', DefaultVisualizer);
  define('Identity', Identity);
  define('decodeS3OLCIQualityFlags', decodeS3OLCIQualityFlags);
  define('decodeL8C2Qa', decodeL8C2Qa);
  define('decodeLs8Qa', decodeLs8Qa);

  // ---- the driver (hidden) ------------------------------------------------------------------
  // A broken V3 rule (return shape, band count): script.cpp reports it as ScriptError contract.
  class ContractError extends NativeError {}

  const hooks = {};
  const state = {
    scenes: {},
    inputMetadata: {},
    customData: {},
    outputMetadata: {userData: undefined},
    outputs: [],  // [{id, bands}]
    fusion: false,
    makers: new Map(),
    userDataDone: false,
    userData: undefined,
  };

  // The user's script is a function body (script.cpp appends a return of its hooks, looked up by
  // name after the top-level code ran). It is called once per request with the global object as
  // `this`, as top-level code would run: its declarations are fresh for each request.
  function instantiate(script) {
    resetState();
    const found = apply(script, global, [enterScope]);
    hooks.setup = found[0];
    hooks.evaluatePixel = found[1];
    hooks.preProcessScenes = found[2];
    hooks.updateOutput = found[3];
    hooks.updateOutputMetadata = found[4];
    return (hooks.setup ? 1 : 0) | (hooks.evaluatePixel ? 2 : 0) | (hooks.preProcessScenes ? 4 : 0) |
      (hooks.updateOutput ? 8 : 0) | (hooks.updateOutputMetadata ? 16 : 0);
  }

  function resetState() {
    userScope = undefined;
    hooks.setup = hooks.evaluatePixel = hooks.preProcessScenes = hooks.updateOutput = undefined;
    hooks.updateOutputMetadata = undefined;
    state.scenes = {};
    state.inputMetadata = {};
    state.customData = {};
    state.outputMetadata = {userData: undefined};
    state.outputs = [];
    state.fusion = false;
    state.userDataDone = false;
    state.userData = undefined;
  }

  // JSON for C++: non-finite numbers become the strings "NaN", "Infinity", "-Infinity" (setup's
  // nodataValue may be NaN).
  function keepNonFinite(key, value) {
    return typeof value === 'number' && !(value - value === 0) ? String(value) : value;
  }

  function runSetup() {
    const result = hooks.setup();
    const text = jsonStringify(result, keepNonFinite);
    return text === undefined ? 'null' : text;
  }

  function toDate(s) {
    return typeof s === 'string' ? new NativeDate(s) : s;
  }

  // collections: {from, to, scenes: {orbits}} or {scenes: {tiles}}; from and to become Dates.
  function preProcess(json) {
    const collections = jsonParse(json);
    if (collections && typeof collections === 'object') {
      if ('from' in collections) collections.from = toDate(collections.from);
      if ('to' in collections) collections.to = toDate(collections.to);
    }
    let result = hooks.preProcessScenes(collections);
    if (result === undefined) result = collections;
    if (result === null || typeof result !== 'object') {
      throw new ContractError('preProcessScenes must return the collections object');
    }
    return jsonStringify(result);
  }

  // outputs: [{id, bands}]; collection: {scenes: [{date}]} or {<id>: {scenes: [...]}}. Returns
  // the bands per output id after the hook ran, as JSON.
  function updateOutputHook(outputsJson, collectionJson) {
    const outputs = jsonParse(outputsJson);
    const arg = {};
    for (let k = 0; k < outputs.length; k++) arg[outputs[k].id] = {bands: outputs[k].bands};
    const collection = jsonParse(collectionJson);
    const dates = (c) => {
      if (!c || !isArray(c.scenes)) return;
      for (let i = 0; i < c.scenes.length; i++) if (c.scenes[i]) c.scenes[i].date = toDate(c.scenes[i].date);
    };
    if (collection && typeof collection === 'object') {
      if (isArray(collection.scenes)) dates(collection);
      else for (const key in collection) dates(collection[key]);
    }
    hooks.updateOutput(arg, collection);
    const bands = {};
    for (let k = 0; k < outputs.length; k++) {
      const o = arg[outputs[k].id];
      bands[outputs[k].id] = o && typeof o === 'object' ? o.bands : undefined;
    }
    return jsonStringify(bands, keepNonFinite);
  }

  function setContext(scenesJson, inputMetadataJson) {
    state.scenes = jsonParse(scenesJson);
    state.inputMetadata = jsonParse(inputMetadataJson);
  }

  function configure(outputsJson, fusion) {
    state.outputs = jsonParse(outputsJson);
    state.fusion = fusion;
  }

  // One function per band list that builds a fresh sample object with constant shape:
  // sample(a, p, n) = {band0: a[p], band1: a[p + n], ...}.
  function makerFor(bands) {
    const key = jsonStringify(bands);
    let mk = state.makers.get(key);
    if (mk === undefined) {
      let body = 'return {';
      for (let b = 0; b < bands.length; b++) {
        body += (b ? ',' : '') + jsonStringify(bands[b]) + ':a[p' + (b ? '+' + b + '*n' : '') + ']';
      }
      mk = makeFunction('a', 'p', 'n', body + '};');
      state.makers.set(key, mk);
    }
    return mk;
  }

  function describe(v) {
    if (v === null) return 'null';
    if (isArray(v)) return 'an array';
    return typeof v === 'object' ? 'an object' : 'a ' + typeof v;
  }

  function write(out, bands, id, arr, i) {
    if (!isArray(arr) && !isView(arr)) {
      throw new ContractError(
          "evaluatePixel must return an array of numbers for output '" + id + "', not " + describe(arr));
    }
    if (arr.length !== bands) {
      throw new ContractError("evaluatePixel returned " + arr.length + ' value' + (arr.length === 1 ? '' : 's') +
        " for output '" + id + "', which has " + bands + ' band' + (bands === 1 ? '' : 's'));
    }
    const base = i * bands;
    for (let b = 0; b < bands; b++) {
      const v = arr[b];
      out[base + b] = typeof v === 'number' ? v : v === true ? 1 : v === false ? 0 : NaN;
    }
  }

  // sources: [{key, bands, scenes, simple, data: Float32Array}], outs: [Float32Array] in the
  // order of state.outputs; n pixels.
  function evaluate(sources, n, outs) {
    const ep = hooks.evaluatePixel;
    const scenes = state.scenes, meta = state.inputMetadata, custom = state.customData, outMeta = state.outputMetadata;
    const outputs = state.outputs;
    const single = outputs.length === 1;
    const out0 = outs[0], id0 = single ? outputs[0].id : '', bands0 = single ? outputs[0].bands : 0;
    const S = sources.length;
    const makers = new Array(S), strides = new Array(S);
    for (let k = 0; k < S; k++) {
      makers[k] = makerFor(sources[k].bands);
      strides[k] = sources[k].bands.length * n;
    }
    const fusion = state.fusion;
    const src0 = sources[0], mk0 = makers[0], a0 = src0.data, stride0 = strides[0];
    const simple0 = src0.simple, scenes0 = src0.scenes;

    for (let i = 0; i < n; i++) {
      let samples;
      if (!fusion) {
        if (simple0) {
          samples = mk0(a0, i, n);
        } else {
          samples = new Array(scenes0);
          for (let s = 0; s < scenes0; s++) samples[s] = mk0(a0, s * stride0 + i, n);
        }
      } else {
        samples = {};
        for (let k = 0; k < S; k++) {
          const src = sources[k], cnt = src.scenes, arr = new Array(cnt);
          for (let s = 0; s < cnt; s++) arr[s] = makers[k](src.data, s * strides[k] + i, n);
          samples[src.key] = arr;
        }
      }
      const r = ep(samples, scenes, meta, custom, outMeta);
      if (r === undefined || r === null) continue;
      if (single) {
        if (isArray(r) || isView(r)) {
          write(out0, bands0, id0, r, i);
        } else if (typeof r === 'object') {
          const arr = r[id0];
          if (arr !== undefined) write(out0, bands0, id0, arr, i);
        } else {
          throw new ContractError('evaluatePixel must return an array of numbers or an object {' + id0 +
            ': [...]}, not ' + describe(r));
        }
      } else {
        if (typeof r !== 'object' || isArray(r) || isView(r)) {
          throw new ContractError('evaluatePixel must return an object with one array per output (' +
            outputs.map((o) => o.id).join(', ') + '), not ' + describe(r));
        }
        for (let o = 0; o < outputs.length; o++) {
          const arr = r[outputs[o].id];
          if (arr !== undefined) write(outs[o], outputs[o].bands, outputs[o].id, arr, i);
        }
      }
    }
  }

  // updateOutputMetadata (once), then outputMetadata.userData as JSON ("null" when unset).
  function userData() {
    if (!state.userDataDone) {
      state.userDataDone = true;
      const hook = hooks.updateOutputMetadata;
      if (hook) hook(state.scenes, state.inputMetadata, state.outputMetadata);
    }
    const text = jsonStringify(state.outputMetadata.userData);
    return text === undefined ? 'null' : text;
  }

  // ---- reuse of the context (script.hpp) -----------------------------------------------------
  // After a request the context is kept for the next request of the same owner and script only
  // if the request left the global object, every builtin constructor and namespace on it, their
  // prototypes and the intrinsic prototypes below as they were when the library finished:
  // globals the script added (sloppy assignments to undeclared names) are removed, any other
  // change (a replaced, redefined or deleted property, a new property on a builtin or prototype,
  // a frozen or re-parented object) makes release() answer false and the context is disposed.

  // Descriptors are compared field by field. Object.prototype is compared first, on descriptors
  // without a prototype; once it is known unchanged, reading a field that another descriptor lacks
  // (`get` of a data property) cannot run a getter the script defined there.
  function bareDescriptor(o, key) {
    const d = ownDescriptor(o, key);
    if (d !== undefined) setPrototypeOf(d, null);
    return d;
  }

  function sameDescriptor(a, b) {
    return a !== undefined && same(a.value, b.value) && a.get === b.get && a.set === b.set &&
      a.writable === b.writable && a.enumerable === b.enumerable && a.configurable === b.configurable;
  }

  function record(o) {
    const keys = ownKeys(o);
    const descriptors = new NativeArray(keys.length);
    for (let i = 0; i < keys.length; i++) descriptors[i] = bareDescriptor(o, keys[i]);
    return {object: o, keys: keys, descriptors: descriptors, extensible: isExtensible(o), proto: getPrototypeOf(o)};
  }

  const watched = [];
  const seen = new Set([global]);  // the global object is compared on its own (release)
  function watch(v) {
    if (v === null || (typeof v !== 'object' && typeof v !== 'function') || seen.has(v)) return false;
    seen.add(v);
    watched.push(v);
    return true;
  }
  // The intrinsic prototypes first (their descriptors are read in every later comparison).
  watch(Object.prototype);
  watch(Function.prototype);
  watch(Array.prototype);
  watch(getPrototypeOf(Int8Array));
  watch(getPrototypeOf(Int8Array).prototype);
  watch(getPrototypeOf([][Symbol.iterator]()));
  watch(getPrototypeOf(getPrototypeOf([][Symbol.iterator]())));
  watch(getPrototypeOf(new Map()[Symbol.iterator]()));
  watch(getPrototypeOf(new Set()[Symbol.iterator]()));
  watch(getPrototypeOf(''[Symbol.iterator]()));
  const globalKeys = ownKeys(global);
  for (let i = 0; i < globalKeys.length; i++) {
    const d = ownDescriptor(global, globalKeys[i]);
    if (!d || !('value' in d)) continue;
    const v = d.value;
    if (!watch(v)) continue;
    watch(getPrototypeOf(v));
    if (typeof v === 'function') {
      const p = ownDescriptor(v, 'prototype');
      if (p && 'value' in p) watch(p.value);
    } else {
      // A namespace (Math, JSON, Reflect, Intl, ...): its constructors and their prototypes too.
      const inner = ownKeys(v);
      for (let k = 0; k < inner.length; k++) {
        const e = ownDescriptor(v, inner[k]);
        if (!e || !('value' in e) || typeof e.value !== 'function') continue;
        watch(e.value);
        const p = ownDescriptor(e.value, 'prototype');
        if (p && 'value' in p) watch(p.value);
      }
    }
  }
  const baseline = [];
  let globalBaseline = null;

  // Called once the library has defined its globals (below).
  function takeBaseline() {
    for (let i = 0; i < watched.length; i++) baseline.push(record(watched[i]));
    globalBaseline = new NativeMap();
    const g = record(global);
    for (let i = 0; i < g.keys.length; i++) apply(mapSet, globalBaseline, [g.keys[i], g.descriptors[i]]);
    globalBaseline.extensible = g.extensible;
    globalBaseline.proto = g.proto;
  }

  function unchanged(r, bare) {
    const o = r.object;
    if (isExtensible(o) !== r.extensible || getPrototypeOf(o) !== r.proto) return false;
    const keys = r.keys, descriptors = r.descriptors;
    if (ownKeys(o).length !== keys.length) return false;
    for (let i = 0; i < keys.length; i++) {
      if (!sameDescriptor(bare ? bareDescriptor(o, keys[i]) : ownDescriptor(o, keys[i]), descriptors[i])) return false;
    }
    return true;
  }

  // True when the context may serve the next request (see above). Drops this request's state.
  function release() {
    resetState();
    for (let i = 0; i < baseline.length; i++) {
      if (!unchanged(baseline[i], i === 0)) return false;  // [0] is Object.prototype
    }
    if (isExtensible(global) !== globalBaseline.extensible || getPrototypeOf(global) !== globalBaseline.proto) {
      return false;
    }
    const keys = ownKeys(global);
    let kept = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      const before = apply(mapGet, globalBaseline, [key]);
      if (before === undefined && !apply(mapHas, globalBaseline, [key])) {
        if (!deleteProperty(global, key)) return false;
        continue;
      }
      if (!sameDescriptor(ownDescriptor(global, key), before)) return false;
      kept++;
    }
    return kept === globalBaseline.size;
  }

  takeBaseline();

  return {
    ContractError, instantiate, release, runSetup, preProcess, updateOutput: updateOutputHook, setContext, configure, evaluate,
    userData,
  };
})(globalThis);

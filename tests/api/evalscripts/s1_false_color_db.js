//VERSION=3
// Sentinel-1 VV/VH false colour in decibels.
function setup() {
  return { input: ["VV", "VH", "dataMask"], output: { bands: 4 } };
}
function toDb(v) {
  return 10 * Math.log(Math.max(v, 1e-6)) / Math.LN10;
}
function evaluatePixel(s) {
  const vv = toDb(s.VV), vh = toDb(s.VH);
  return [(vv + 25) / 25, (vh + 30) / 25, (vv - vh) / 15, s.dataMask];
}

//VERSION=3
// True colour with clouds (SCL 8, 9, 10) and cloud shadows (SCL 3) made transparent.
function setup() {
  return { input: ["B02", "B03", "B04", "SCL", "dataMask"], output: { bands: 4 } };
}
function evaluatePixel(s) {
  const cloudy = [3, 8, 9, 10].includes(s.SCL);
  return [2.5 * s.B04, 2.5 * s.B03, 2.5 * s.B02, cloudy ? 0 : s.dataMask];
}

//VERSION=3
// NDVI through a colour ramp from bare soil brown to dense vegetation green.
const ramp = new ColorRampVisualizer([
  [-0.2, 0x8c510a],
  [0.0, 0xd8b365],
  [0.2, 0xf6e8c3],
  [0.4, 0xc7eae5],
  [0.6, 0x5ab4ac],
  [0.8, 0x01665e],
]);
function setup() {
  return { input: ["B04", "B08", "dataMask"], output: { bands: 4 } };
}
function evaluatePixel(s) {
  const ndvi = index(s.B08, s.B04);
  const rgb = ramp.process(ndvi);
  return [rgb[0], rgb[1], rgb[2], s.dataMask];
}

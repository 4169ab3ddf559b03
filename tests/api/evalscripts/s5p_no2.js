//VERSION=3
// Tropospheric NO2 column through a yellow-to-red ramp.
const ramp = [
  [0.0, 0x000080],
  [0.00005, 0x0000ff],
  [0.0001, 0x00ffff],
  [0.0002, 0xffff00],
  [0.0004, 0xff0000],
];
const viz = new ColorRampVisualizer(ramp);
function setup() {
  return { input: ["NO2", "dataMask"], output: { bands: 4 } };
}
function evaluatePixel(s) {
  const c = viz.process(s.NO2);
  return [c[0], c[1], c[2], s.dataMask];
}

//VERSION=3
// Elevation tinted by height, as UINT8 grey levels: 0 m black, 3500 m and above white.
function setup() {
  return { input: ["DEM", "dataMask"], output: { bands: 2, sampleType: "UINT8" } };
}
function evaluatePixel(s) {
  return [valueInterpolate(s.DEM, [0, 3500], [0, 255]), s.dataMask * 255];
}

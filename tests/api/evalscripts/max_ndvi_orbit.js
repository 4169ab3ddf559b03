//VERSION=3
// Highest NDVI over every acquisition of the period (one sample per UTC day), as FLOAT32.
function setup() {
  return {
    input: [{ bands: ["B04", "B08", "dataMask"] }],
    output: { bands: 1, sampleType: "FLOAT32" },
    mosaicking: "ORBIT",
  };
}
function updateOutputMetadata(scenes, inputMetadata, outputMetadata) {
  outputMetadata.userData = { dates: scenes.orbits.map((o) => o.dateFrom) };
}
function evaluatePixel(samples) {
  let best = -1;
  for (const s of samples) {
    if (s.dataMask === 1) best = Math.max(best, index(s.B08, s.B04));
  }
  return [best];
}

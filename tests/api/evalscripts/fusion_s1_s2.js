//VERSION=3
// Data fusion: Sentinel-2 true colour where it is clear, Sentinel-1 VV in grey where S2 has clouds.
function setup() {
  return {
    input: [
      { datasource: "s1", bands: ["VV", "dataMask"] },
      { datasource: "l2a", bands: ["B02", "B03", "B04", "SCL", "dataMask"] },
    ],
    output: { bands: 3 },
  };
}
function evaluatePixel(samples) {
  const s2 = samples.l2a[0], s1 = samples.s1[0];
  if (s2.dataMask === 1 && ![3, 8, 9, 10].includes(s2.SCL)) return [2.5 * s2.B04, 2.5 * s2.B03, 2.5 * s2.B02];
  const g = Math.min(1, Math.sqrt(s1.VV) * 2);
  return [g, g, g];
}

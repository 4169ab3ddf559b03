// The Process API through @sentinel-hub/sentinelhub-js (npm, the library behind Sentinel Hub's and
// CDSE's browser apps): its layers build the request (payload, headers, evalscript) and decode
// the answer, unmodified. The library hard-codes each dataset's service host
// (https://sh.dataspace.copernicus.eu/ for the CDSE layers); its own exported hook
// addAxiosRequestInterceptor() points those requests at our server, as an operator's users would
// with a proxy or a patched dataset definition.
//
//   harness.py --server dataspace --archive DIR --env DATASPACE_BIN=dataspace -- node --test process_sentinelhub.test.mjs
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const realSetInterval = globalThis.setInterval;
globalThis.setInterval = (...args) => realSetInterval(...args).unref();
const sh = await import('@sentinel-hub/sentinelhub-js');
globalThis.setInterval = realSetInterval;

const URL_BASE = process.env.DATASPACE_URL;
const DATA = process.env.DATASPACE_ARCHIVE ?? path.join(process.env.DATASPACE_DATA, 'var');
const BIN = process.env.DATASPACE_BIN ?? 'dataspace';
const EMAIL = `shjs-process-${process.pid}@example.org`;
const PASSWORD = 'sentinelhub-js-process';

const sent = [];
sh.addAxiosRequestInterceptor(async (config) => {
  for (const host of ['https://sh.dataspace.copernicus.eu/', 'https://services.sentinel-hub.com/']) {
    if (config.url.startsWith(host)) {
      sent.push({ url: config.url, data: config.data });
      config.url = `${URL_BASE}/${config.url.slice(host.length)}`;
    }
  }
  return config;
});

before(async () => {
  execFileSync(BIN, ['user', 'add', '--email', EMAIL, '--password', PASSWORD, '--data', DATA], { encoding: 'utf8' });
  const body = new URLSearchParams({ grant_type: 'password', username: EMAIL, password: PASSWORD, client_id: 'cdse-public' });
  const t = await (await fetch(`${URL_BASE}/auth/realms/CDSE/protocol/openid-connect/token`, { method: 'POST', body })).json();
  sh.setAuthToken(t.access_token);
});

const bbox = new sh.BBox(sh.CRS_EPSG4326, 11.25, 46.4, 11.45, 46.55);
const june = { fromTime: new Date(Date.UTC(2022, 5, 10)), toTime: new Date(Date.UTC(2022, 5, 20, 23, 59, 59)) };

function bytes(image) {
  return Buffer.from(image instanceof ArrayBuffer ? new Uint8Array(image) : image);
}

test('S2L2ACDASLayer getMap through the Processing API returns a PNG', async () => {
  const layer = new sh.S2L2ACDASLayer({
    evalscript: '//VERSION=3\nfunction setup(){return{input:["B02","B03","B04","dataMask"],output:{bands:4}}}\n' +
      'function evaluatePixel(s){return [2.5*s.B04,2.5*s.B03,2.5*s.B02,s.dataMask]}',
    maxCloudCoverPercent: 100,
  });
  const image = await layer.getMap({ bbox, ...june, width: 256, height: 192, format: sh.MimeTypes.PNG }, sh.ApiType.PROCESSING);
  const png = bytes(image);
  assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
  assert.equal(png.readUInt32BE(16), 256);
  assert.equal(png.readUInt32BE(20), 192);
  const last = sent.at(-1);
  assert.match(last.url, /api\/v1\/process$/);
});

test('S1GRDCDASLayer getMap as JPEG', async () => {
  const layer = new sh.S1GRDCDASLayer({
    evalscript: '//VERSION=3\nfunction setup(){return{input:["VV"],output:{bands:1}}}\n' +
      'function evaluatePixel(s){return [Math.sqrt(s.VV)*2]}',
    acquisitionMode: sh.AcquisitionMode.IW,
    polarization: sh.Polarization.DV,
    resolution: sh.Resolution.HIGH,
  });
  const image = await layer.getMap({ bbox, ...june, width: 128, height: 128, format: sh.MimeTypes.JPEG }, sh.ApiType.PROCESSING);
  const jpg = bytes(image);
  assert.equal(jpg[0], 0xff);
  assert.equal(jpg[1], 0xd8);
});

test('DEMCDASLayer getMap as GeoTIFF', async () => {
  const layer = new sh.DEMCDASLayer({
    evalscript: '//VERSION=3\nfunction setup(){return{input:["DEM"],output:{bands:1,sampleType:"FLOAT32"}}}\n' +
      'function evaluatePixel(s){return [s.DEM]}',
  });
  let image;
  try {
    image = await layer.getMap({ bbox, ...june, width: 64, height: 64, format: 'image/tiff' }, sh.ApiType.PROCESSING);
  } catch (err) {
    assert.fail(`${err.message}: ${Buffer.from(err.response?.data ?? '').toString()} for ${JSON.stringify(sent.at(-1)?.data)}`);
  }
  const tif = bytes(image);
  assert.ok(tif.subarray(0, 2).toString() === 'II' || tif.subarray(0, 2).toString() === 'MM');
});

test('a script error reaches the caller with the server message', async () => {
  const layer = new sh.S2L2ACDASLayer({ evalscript: '//VERSION=3\nfunction setup( {' });
  await assert.rejects(
    layer.getMap({ bbox, ...june, width: 32, height: 32, format: sh.MimeTypes.PNG }, sh.ApiType.PROCESSING),
    (err) => {
      const msg = String(err.message ?? err);
      assert.match(msg + JSON.stringify(err.response?.data ?? ''), /400|SyntaxError/);
      return true;
    },
  );
});

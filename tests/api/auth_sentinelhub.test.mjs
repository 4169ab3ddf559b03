// Client credentials as sentinelhub-js obtains them (npm @sentinel-hub/sentinelhub-js, the library
// behind Sentinel Hub's and CDSE's browser apps), against our token service.
//
// How the library gets a token (read in its dist/sentinelHub.js, version pinned in package.json):
// `requestAuthToken(clientId, clientSecret)` POSTs with its global axios instance to a URL it
// hard-codes (Sentinel Hub's own `https://services.sentinel-hub.com/auth/realms/main/protocol/
// openid-connect/token`), with `content-type: application/x-www-form-urlencoded` and the body
// `grant_type=client_credentials&client_id=…&client_secret=…` (client_secret_post), and resolves to
// `access_token`; `setAuthToken(token)` then makes every later library request send
// `Authorization: Bearer <token>`. The URL takes no parameter and `registerHostnameReplacing()` only
// swaps the host name (it keeps https, port 443 and the realm `main`), so — like a CDSE user whose
// token URL is identity.dataspace.copernicus.eu/auth/realms/CDSE/… — we point it elsewhere with the
// library's own exported hook `addAxiosRequestInterceptor()`, which runs on that same axios instance.
// The request itself (method, headers, body) is the library's, unmodified.
//
//   harness.py --server dataspace --env DATASPACE_BIN=dataspace -- node --test auth_sentinelhub.test.mjs
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

// The library starts a cache-cleaning setInterval when it is imported; unref it so that this test
// process ends when the tests do.
const realSetInterval = globalThis.setInterval;
globalThis.setInterval = (...args) => realSetInterval(...args).unref();
const sh = await import('@sentinel-hub/sentinelhub-js');
globalThis.setInterval = realSetInterval;

const URL_BASE = process.env.DATASPACE_URL;
const DATA = path.join(process.env.DATASPACE_DATA, 'var');
const BIN = process.env.DATASPACE_BIN ?? 'dataspace';
const TOKEN_URL = `${URL_BASE}/auth/realms/CDSE/protocol/openid-connect/token`;
const SH_TOKEN_URL = 'https://services.sentinel-hub.com/auth/realms/main/protocol/openid-connect/token';
const EMAIL = 'shjs@example.org';
const PASSWORD = 'sentinelhub-js-password';

// What the library sent to the token endpoint, as seen by the interceptor.
const seen = [];
sh.addAxiosRequestInterceptor(async (config) => {
  if (config.url === SH_TOKEN_URL) {
    seen.push({ method: config.method, contentType: config.headers.get('content-type'), data: config.data });
    config.url = TOKEN_URL;
  }
  return config;
});

const cli = (...args) => execFileSync(BIN, ['user', ...args, '--data', DATA], { encoding: 'utf8' });
let userId;

before(() => {
  userId = cli('add', '--email', EMAIL, '--password', PASSWORD).trim();
});

async function apiClient() {
  // A client created through the account API with a password-grant token, as a user does in the dashboard.
  const body = new URLSearchParams({ grant_type: 'password', username: EMAIL, password: PASSWORD, client_id: 'cdse-public' });
  const t = await (await fetch(TOKEN_URL, { method: 'POST', body })).json();
  const res = await fetch(`${URL_BASE}/me/clients`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${t.access_token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: 'sentinelhub-js' }),
  });
  assert.equal(res.status, 201);
  return res.json();
}

async function me(token) {
  return fetch(`${URL_BASE}/me`, { headers: { Authorization: `Bearer ${token}` } });
}

test('requestAuthToken + setAuthToken with a client made through the API', async () => {
  const { client_id, client_secret } = await apiClient();
  const token = await sh.requestAuthToken(client_id, client_secret);
  assert.equal(typeof token, 'string');
  assert.equal(token.split('.').length, 3);
  const sent = seen.at(-1);
  assert.equal(sent.method, 'post');
  assert.equal(sent.contentType, 'application/x-www-form-urlencoded');
  assert.deepEqual(Object.fromEntries(new URLSearchParams(sent.data)), {
    grant_type: 'client_credentials',
    client_id,
    client_secret,
  });
  sh.setAuthToken(token);
  assert.ok(sh.isAuthTokenSet());
  const res = await me(token);
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.id, userId);
  assert.equal(body.email, EMAIL);
});

test('a client made with `dataspace user client add` works the same', async () => {
  const out = cli('client', 'add', '--email', EMAIL, '--name', 'cli');
  const kv = Object.fromEntries(out.trim().split('\n').map((l) => l.split('=', 2)));
  assert.match(kv.client_id, /^sh-/);
  const token = await sh.requestAuthToken(kv.client_id, kv.client_secret);
  assert.equal((await me(token)).status, 200);
});

test('a wrong secret is refused with the OAuth error, and no token is issued', async () => {
  const { client_id } = await apiClient();
  await assert.rejects(sh.requestAuthToken(client_id, 'wrong-secret'), (err) => {
    assert.equal(err.response?.status, 401);
    assert.equal(err.response.data.error, 'invalid_client');
    assert.equal(typeof err.response.data.error_description, 'string');
    return true;
  });
  await assert.rejects(sh.requestAuthToken('sh-no-such-client', 'x'), (err) => err.response?.status === 401);
  assert.equal((await me('not-a-token')).status, 401);
});

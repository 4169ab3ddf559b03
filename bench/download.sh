#!/usr/bin/env bash
# Download throughput of dataspace beside nginx serving the same bytes from the same disk, in the
# same run: the product ZIP built on the fly (GET $value), one large file (Nodes(...)/$value), a
# GDAL-like pattern of ranged reads on that file over one keep-alive connection, and an S3
# GetObject of a large object (presigned URL). Single-stream figures; ratios are what matter.
#   bench/download.sh BUILD_DIR [WORK_DIR]    (called by bench/run; runs alone too)
#   BENCH_DOWNLOAD_SCALE (default 10; 2 or 1 for products of hundreds of MB),
#   BENCH_DOWNLOAD_ROUNDS (default 10), BENCH_RANGED_READS (default 2000 reads of 16 KiB, three rounds),
#   BENCH_DOWNLOAD_DATA=DIR: use that catalogued archive instead of synthesising one (bench/run
#   passes its full-resolution Sentinel-2 cache when present: products of about 1 GB),
#   BENCH_CONCURRENT (default 64) parallel downloads of the largest file, beside nginx.
set -euo pipefail
build=${1:-build/release}
work=${2:-$(mktemp -d)}
own_work=$([ -z "${2:-}" ] && echo 1 || echo 0)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/dl-nginx.pid" ] && kill "$(cat "$work/dl-nginx.pid")" 2>/dev/null || true
  if [ -n "${BENCH_DOWNLOAD_DATA:-}" ]; then rm -rf "$BENCH_DOWNLOAD_DATA/objects/eodata/bench"; fi
  if [ "$own_work" = 1 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1$2" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

dl="$work/dl"
www="$work/dl-www"
mkdir -p "$www"
echo ok >"$www/health"
if [ -n "${BENCH_DOWNLOAD_DATA:-}" ]; then
  dl=$BENCH_DOWNLOAD_DATA
else
  "$build/dataspace" synth --data "$dl" --missions s2 --scale "${BENCH_DOWNLOAD_SCALE:-10}" --from 2022-06-17 \
    --to 2022-06-17 >/dev/null 2>&1
  "$build/dataspace" ingest --data "$dl" >/dev/null
fi
"$build/dataspace" user add --data "$dl" --email bench@example.org --password bench-password --typology admin \
  >/dev/null 2>&1 || true
s3pair=$("$build/dataspace" user s3key add --data "$dl" --email bench@example.org --days 1)
dl_port=$(free_port)
"$build/dataspace" serve --data "$dl" --listen "127.0.0.1:$dl_port" --access-log off --log-level warn 2>"$work/dl.err" &
pids+=($!)
ng_port=$(free_port)
cat >"$work/dl-nginx.conf" <<NGX
worker_processes $(nproc);
pid $work/dl-nginx.pid;
error_log $work/dl-nginx-error.log;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  client_body_temp_path $work; proxy_temp_path $work; fastcgi_temp_path $work; uwsgi_temp_path $work; scgi_temp_path $work;
  default_type application/octet-stream;
  server { listen 127.0.0.1:$ng_port; root $www; }
}
NGX
nginx -c "$work/dl-nginx.conf" -p "$work"
wait_port "$dl_port" /health
wait_port "$ng_port" /health

token=$(curl -fs -d grant_type=password -d client_id=cdse-public -d username=bench@example.org \
  -d password=bench-password "http://127.0.0.1:$dl_port/auth/realms/CDSE/protocol/openid-connect/token" |
  /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
base="http://127.0.0.1:$dl_port"
# The largest product, its largest file (Nodes URL) and that file's path in the store.
read -r largest file_url file_path < <(/usr/bin/python3 - "$base" "$dl" <<'PY'
import json, os, sys, urllib.parse, urllib.request
base, data = sys.argv[1], sys.argv[2]
products = json.load(urllib.request.urlopen(base + "/odata/v1/Products?$top=100"))["value"]
p = max(products, key=lambda p: p["ContentLength"])
root = os.path.join(data, "objects", p["S3Path"].lstrip("/"))
size, path = max((os.path.getsize(os.path.join(d, f)), os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
rel = os.path.relpath(path, root).split(os.sep)
url = base + f"/odata/v1/Products({p['Id']})/Nodes({urllib.parse.quote(p['Name'])})" + "".join(
    f"/Nodes({urllib.parse.quote(s)})" for s in rel) + "/$value"
print(p["Id"], url, path)
PY
)
zip_url="$base/odata/v1/Products($largest)/\$value"
curl -fs -H "Authorization: Bearer $token" -o "$www/product.zip" "$zip_url"  # also fills the CRC cache
cp "$file_path" "$www/file.bin"
# The S3 object: the product's ZIP as an eodata object.
mkdir -p "$dl/objects/eodata/bench"
cp "$www/product.zip" "$dl/objects/eodata/bench/product.zip"
s3_url=$(/usr/bin/python3 - "$base" "$s3pair" <<'PY'
import sys
import boto3
from botocore.config import Config
pairs = dict(line.split("=", 1) for line in sys.argv[2].splitlines() if "=" in line)
s3 = boto3.client("s3", endpoint_url=sys.argv[1] + "/s3", region_name="default",
                  aws_access_key_id=pairs["aws_access_key_id"], aws_secret_access_key=pairs["aws_secret_access_key"],
                  config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
print(s3.generate_presigned_url("get_object", Params={"Bucket": "eodata", "Key": "bench/product.zip"}, ExpiresIn=3600))
PY
)

rounds=${BENCH_DOWNLOAD_ROUNDS:-$([ -n "${BENCH_DOWNLOAD_DATA:-}" ] && echo 3 || echo 10)}
speed() {  # url size [header] -> MB/s over $rounds sequential downloads
  local t0 t1
  t0=$(date +%s.%N)
  for _ in $(seq "$rounds"); do curl -fs -o /dev/null ${3:+-H "$3"} "$1"; done
  t1=$(date +%s.%N)
  awk -v n="$rounds" -v s="$2" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n * s / (b - a) / 1e6 }'
}
row() {  # what bytes ours theirs unit
  printf '%-34s %12s %14s %12s %8s\n' "$1" "$2" "$3" "$4" "$(awk -v a="$3" -v b="$4" 'BEGIN { printf "%.2f", a / b }')"
}
zip_size=$(stat -c %s "$www/product.zip")
file_size=$(stat -c %s "$www/file.bin")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %12s %14s %12s %8s\n' what bytes dataspace nginx ratio
row "ZIP \$value (MB/s)" "$zip_size" "$(speed "$zip_url" "$zip_size" "Authorization: Bearer $token")" \
  "$(speed "http://127.0.0.1:$ng_port/product.zip" "$zip_size")"
row "single file Nodes \$value (MB/s)" "$file_size" "$(speed "$file_url" "$file_size" "Authorization: Bearer $token")" \
  "$(speed "http://127.0.0.1:$ng_port/file.bin" "$file_size")"
row "S3 GetObject, presigned (MB/s)" "$zip_size" "$(speed "$s3_url" "$zip_size")" \
  "$(speed "http://127.0.0.1:$ng_port/product.zip" "$zip_size")"
ranged() {  # url [token] -> ranged reads per second (one keep-alive connection, GDAL-like pattern)
  /usr/bin/python3 - "$1" "$file_size" "${BENCH_RANGED_READS:-2000}" "${2:-}" <<'PY'
import http.client, random, sys, time, urllib.parse
url, size, n, token = urllib.parse.urlsplit(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
conn = http.client.HTTPConnection(url.netloc)
path = url.path + ("?" + url.query if url.query else "")
headers = {"Authorization": "Bearer " + token} if token else {}
rng = random.Random(42)
# GDAL on a COG: the header first, then tiles of 16 KiB here and there.
spans = [(0, 16383)] + [(o, o + 16383) for o in (rng.randrange(0, max(1, size - 16384)) for _ in range(n - 1))]
t0 = time.perf_counter()
for first, last in spans:
    conn.request("GET", path, headers={**headers, "Range": f"bytes={first}-{last}"})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 206 and len(body) == last - first + 1, (r.status, len(body))
print(f"{n / (time.perf_counter() - t0):.0f}")
PY
}
# Ranged reads are short and sensitive to the machine's noise: three rounds, ours and nginx
# alternating, and the round with the median ratio is reported. Both get the same request
# headers, bearer token included (nginx ignores it): the client's work per request is the same,
# only the server differs (the token alone costs this Python client ~11 us per request).
# One untimed pass each first: the same spans are read in every round, so whoever went first
# would pay the page cache's misses.
ranged "$file_url" "$token" >/dev/null
ranged "http://127.0.0.1:$ng_port/file.bin" "$token" >/dev/null
ranged_rounds=""
for _ in 1 2 3; do
  ours=$(ranged "$file_url" "$token")
  theirs=$(ranged "http://127.0.0.1:$ng_port/file.bin" "$token")
  ranged_rounds+="$ours $theirs"$'\n'
done
read -r ours theirs < <(printf '%s' "$ranged_rounds" | awk '{ print $1 / $2, $1, $2 }' | sort -g | sed -n 2p | cut -d' ' -f2-)
row "ranged 16 KiB reads (reads/s)" "$file_size" "$ours" "$theirs"
concurrent() {  # url [header] -> "MB/s errors" for $BENCH_CONCURRENT parallel downloads of the file
  local n=${BENCH_CONCURRENT:-64} t0 t1 codes
  t0=$(date +%s.%N)
  codes=$(for _ in $(seq "$n"); do curl -s -o /dev/null -w '%{http_code} %{size_download}\n' ${2:+-H "$2"} "$1" & done; wait)
  t1=$(date +%s.%N)
  local bad
  bad=$(echo "$codes" | awk -v s="$file_size" '$1 != 200 || $2 != s' | wc -l)
  echo "$(awk -v n="$n" -v s="$file_size" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n * s / (b - a) / 1e6 }') $bad"
}
read -r c_ours c_ours_bad < <(concurrent "$file_url" "Authorization: Bearer $token")
read -r c_ng c_ng_bad < <(concurrent "http://127.0.0.1:$ng_port/file.bin")
row "${BENCH_CONCURRENT:-64} concurrent file GETs (MB/s)" "$file_size" "$c_ours" "$c_ng"
echo "concurrent downloads that failed or came short: dataspace $c_ours_bad, nginx $c_ng_bad"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/python3
"""Process API latency: 512x512 true colour and NDVI colour ramp in EPSG:3857 over one
full-resolution Sentinel-2 L2A tile.

    process_http.py URL TOKEN MINX MINY MAXX MAXY [ROUNDS]

Prints, per script: the first request (cold: fresh server, empty block cache), then p50/p95 of
ROUNDS sequential requests (one client: one core busy) with the cache warm, then requests/s with
two concurrent clients (two cores), and the server's own render time (Server-Timing).
"""
import concurrent.futures
import statistics
import sys
import time

import requests

URL, TOKEN = sys.argv[1], sys.argv[2]
BBOX = [float(v) for v in sys.argv[3:7]]
ROUNDS = int(sys.argv[7]) if len(sys.argv) > 7 else 30
FROM, TO = "2022-06-17T00:00:00Z", "2022-06-17T23:59:59Z"

SCRIPTS = {
    "true colour": "//VERSION=3\nfunction setup(){return{input:['B02','B03','B04'],output:{bands:3}}}\n"
                   "function evaluatePixel(s){return [s.B04/0.3,s.B03/0.3,s.B02/0.3]}",
    "NDVI ramp": "//VERSION=3\nconst ramp=new ColorRampVisualizer([[-0.2,0x8c510a],[0,0xd8b365],[0.2,0xf6e8c3],"
                 "[0.4,0xc7eae5],[0.6,0x5ab4ac],[0.8,0x01665e]]);\n"
                 "function setup(){return{input:['B04','B08'],output:{bands:3}}}\n"
                 "function evaluatePixel(s){return ramp.process(index(s.B08,s.B04))}",
}


def body(script):
    return {"input": {"bounds": {"bbox": BBOX, "properties": {"crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}},
                      "data": [{"type": "sentinel-2-l2a", "dataFilter": {"timeRange": {"from": FROM, "to": TO}}}]},
            "output": {"width": 512, "height": 512},
            "evalscript": script}


def once(session, script):
    t0 = time.perf_counter()
    r = session.post(URL + "/api/v1/process", json=body(script),
                     headers={"Authorization": "Bearer " + TOKEN, "Accept": "image/png"})
    dt = (time.perf_counter() - t0) * 1000
    if r.status_code != 200:
        raise SystemExit(f"process answered {r.status_code}: {r.text[:300]}")
    timing = r.headers.get("Server-Timing", "render;dur=0")
    stages = {part.split(";")[0].strip(): float(part.split("dur=")[1]) for part in timing.split(",")}
    STAGES.append(stages)
    return dt, stages.get("render", 0.0), len(r.content)


STAGES = []


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def main():
    s = requests.Session()
    print(f"{'script':<12} {'cold ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'server p50':>11} {'2 clients r/s':>14} {'PNG KiB':>8}")
    for name, script in SCRIPTS.items():
        cold, _, _ = once(s, script)
        lat, srv = [], []
        size = 0
        for _ in range(ROUNDS):
            dt, sv, size = once(s, script)
            lat.append(dt)
            srv.append(sv)
        n = ROUNDS
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            sessions = [requests.Session(), requests.Session()]
            t0 = time.perf_counter()
            list(pool.map(lambda i: once(sessions[i % 2], script), range(n)))
            rps = n / (time.perf_counter() - t0)
        shares = {k: statistics.median(st.get(k, 0.0) for st in STAGES[-(2 * n):-n] or STAGES) for k in
                  ("setup", "select", "read", "script", "encode")}
        stages_text = " ".join(f"{k} {v:.1f}" for k, v in shares.items())
        print(f"{name:<12} {cold:8.1f} {statistics.median(lat):8.1f} {pct(lat, 95):8.1f} {statistics.median(srv):11.1f}"
              f" {rps:14.1f} {size / 1024:8.0f}   stages p50 ms: {stages_text}")


if __name__ == "__main__":
    main()

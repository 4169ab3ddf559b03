#!/usr/bin/python3
"""End-to-end HTTP latency of the standard catalogue search through each catalogue API.

    catalog_http.py URL DIR LABEL

DIR holds queries.json and sql-LABEL.json written by bench_catalog (BENCH_CATALOG_KEEP). Each of
the 50 queries ("collection + one month + 50 km box + cloudCover < 30, newest first, 100 rows") is
asked through OData, STAC (POST /stac/search, CQL2-JSON) and OpenSearch, over one keep-alive
connection per API, after a warm-up pass and once untimed right before each timed run (as
bench_catalog times the engine); p50/p95 are printed beside the engine's and the
hand-written SQL's p50 from the same run, and the overhead of HTTP + protocol over the engine.
"""
import json
import statistics
import sys
import time
from datetime import datetime, timezone

import requests

STAC_IDS = {"SENTINEL-1": "sentinel-1-grd", "SENTINEL-2": "sentinel-2-l2a", "SENTINEL-3": "sentinel-3-olci-1-efr"}
RESTO = {"SENTINEL-1": "Sentinel1", "SENTINEL-2": "Sentinel2", "SENTINEL-3": "Sentinel3"}


def iso(micros):
    return datetime.fromtimestamp(micros / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def polygon(b):
    x0, y0, x1, y1 = b
    return f"POLYGON(({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0}))"


def odata(s, url, q):
    flt = (f"Collection/Name eq '{q['collection']}' and ContentDate/Start ge {iso(q['from'])} and "
           f"ContentDate/Start lt {iso(q['to'])} and "
           f"OData.CSC.Intersects(area=geography'SRID=4326;{polygon(q['bbox'])}') and "
           "Attributes/OData.CSC.DoubleAttribute/any(att:att/Name eq 'cloudCover' and "
           "att/OData.CSC.DoubleAttribute/Value lt 30)")
    r = s.get(url + "/odata/v1/Products",
              params={"$filter": flt, "$orderby": "ContentDate/Start desc", "$top": "100"}, timeout=60)
    r.raise_for_status()
    return len(r.json()["value"])


def stac(s, url, q):
    body = {"collections": [STAC_IDS[q["collection"]]], "bbox": q["bbox"],
            "datetime": f"{iso(q['from'])}/{iso(q['to'] - 1)}",
            "filter-lang": "cql2-json", "filter": {"op": "<", "args": [{"property": "eo:cloud_cover"}, 30]},
            "sortby": [{"field": "properties.datetime", "direction": "desc"}], "limit": 100}
    r = s.post(url + "/stac/search", json=body, timeout=60)
    r.raise_for_status()
    return len(r.json()["features"])


def opensearch(s, url, q):
    x0, y0, x1, y1 = q["bbox"]
    r = s.get(url + f"/resto/api/collections/{RESTO[q['collection']]}/search.json",
              params={"startDate": iso(q["from"]), "completionDate": iso(q["to"] - 1), "box": f"{x0},{y0},{x1},{y1}",
                      "cloudCover": "[0,30[", "maxRecords": "100", "sortParam": "startDate",
                      "sortOrder": "descending"}, timeout=60)
    r.raise_for_status()
    return len(r.json()["features"])


def main():
    url, folder, label = sys.argv[1].rstrip("/"), sys.argv[2], sys.argv[3]
    # cloudCover is queryable for Sentinel-2 only (STAC and OpenSearch refuse it elsewhere, as CDSE
    # does), so the HTTP comparison asks the Sentinel-2 queries of the set.
    queries = [q for q in json.load(open(f"{folder}/queries.json")) if q["collection"] == "SENTINEL-2"]
    sql = json.load(open(f"{folder}/sql-{label}.json"))
    # The client's own floor: GET /health over the same kind of connection (python requests costs
    # about a millisecond per call); the overhead column is p50 - floor - engine p50.
    s = requests.Session()
    floor = []
    for _ in range(100):
        t0 = time.perf_counter()
        s.get(url + "/health", timeout=10).raise_for_status()
        floor.append((time.perf_counter() - t0) * 1000)
    floor = statistics.median(floor[20:])
    print(f"{label:8} client floor (GET /health p50): {floor:.2f} ms")
    print(f"{label:8} {f'API ({len(queries)} S2 runs, ms)':28} {'p50':>8} {'p95':>8} {'engine p50':>11} {'SQL p50':>8} "
          f"{'overhead':>9} {'rows':>6}")
    for name, fn in (("OData", odata), ("STAC POST /search", stac), ("OpenSearch", opensearch)):
        s = requests.Session()
        try:
            for q in queries:  # warm-up pass
                fn(s, url, q)
        except requests.HTTPError as e:
            print(f"{label:8} {name:28} skipped: {e}")
            continue
        times, rows = [], 0
        for q in queries:
            fn(s, url, q)  # once untimed, as bench_catalog does: the engine figure is warm too
            t0 = time.perf_counter()
            rows += fn(s, url, q)
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        print(f"{label:8} {name:28} {p50:8.2f} {p95:8.2f} {sql['engine_search_p50']:11.2f} "
              f"{sql['hand_search_p50']:8.2f} {p50 - floor - sql['engine_search_p50']:+9.2f} {rows:6}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Golden-case runner: tests/golden/<api>/*.case files against a live server.

A case file is a request, a line `--- expect`, then the expected answer:

    # comment lines start with '#'; `# mask: started, links[*].href` lists volatile JSON fields
    GET /health
    Accept: application/json

    --- expect
    200
    Content-Type: application/json

    {"status": "ok"}

The request part is METHOD TARGET, header lines, a blank line and an optional body. The expected
part is the status, the headers that must be present (only those are compared; a value `*` only
checks presence), a blank line and the body. JSON bodies are compared structurally, with masked
fields replaced by "<masked>" on both sides; other bodies byte for byte after trimming.

    run_golden.py [--url URL] [--rewrite] DIR_OR_CASE...

--rewrite replaces each case's expected part with what the server answered now (status, the
headers already listed in the case, masked body), for review with `git diff`.
"""
import argparse
import glob
import json
import os
import sys

import requests


def parse_case(text):
    masks, lines = [], []
    for line in text.splitlines():
        if line.startswith("#"):
            if line.startswith("# mask:"):
                masks += [m.strip() for m in line[len("# mask:"):].split(",") if m.strip()]
            continue
        lines.append(line)
    text = "\n".join(lines)
    if "\n--- expect\n" not in "\n" + text + "\n":
        raise ValueError("missing '--- expect' line")
    req_text, exp_text = (("\n" + text + "\n").split("\n--- expect\n", 1))
    req_text = req_text.strip("\n")
    req_head, _, req_body = req_text.partition("\n\n")
    req_lines = req_head.splitlines()
    method, target = req_lines[0].split(" ", 1)
    headers = dict(l.split(":", 1) for l in req_lines[1:] if l.strip())
    headers = {k.strip(): v.strip() for k, v in headers.items()}
    exp_head, _, exp_body = exp_text.strip("\n").partition("\n\n")
    exp_lines = exp_head.splitlines()
    status = int(exp_lines[0].strip())
    exp_headers = {}
    for l in exp_lines[1:]:
        k, v = l.split(":", 1)
        exp_headers[k.strip()] = v.strip()
    return dict(method=method.strip(), target=target.strip(), headers=headers, body=req_body,
                status=status, exp_headers=exp_headers, exp_body=exp_body.strip(), masks=masks)


def apply_masks(value, masks):
    for m in masks:
        value = mask_path(value, m.split("."))
    return value


def mask_path(value, parts):
    if not parts:
        return "<masked>"
    head, rest = parts[0], parts[1:]
    if head.endswith("[*]"):
        key = head[:-3]
        target = value.get(key) if isinstance(value, dict) and key else value
        if isinstance(target, list):
            target = [mask_path(v, rest) for v in target]
            if key:
                value[key] = target
            else:
                value = target
        return value
    if isinstance(value, dict) and head in value:
        value[head] = mask_path(value[head], rest)
    return value


def run_case(url, path, rewrite):
    with open(path) as f:
        original = f.read()
    case = parse_case(original)
    body = case["body"].encode() if case["body"] else None
    r = requests.request(case["method"], url + case["target"], headers=case["headers"], data=body,
                         allow_redirects=False, timeout=60)
    problems = []
    if r.status_code != case["status"]:
        problems.append(f"status {r.status_code}, expected {case['status']}")
    for k, v in case["exp_headers"].items():
        got = r.headers.get(k)
        if got is None:
            problems.append(f"header {k} missing")
        elif v != "*" and got != v:
            problems.append(f"header {k}: {got!r}, expected {v!r}")
    actual_text = r.text.strip()
    try:
        actual = apply_masks(json.loads(actual_text), case["masks"]) if actual_text else None
        is_json = actual is not None
    except ValueError:
        is_json = False
    if is_json:
        try:
            expected = apply_masks(json.loads(case["exp_body"]), case["masks"]) if case["exp_body"] else None
        except ValueError:
            expected = None
        if actual != expected:
            problems.append("JSON body differs:\n  got      " + json.dumps(actual, sort_keys=True) +
                            "\n  expected " + json.dumps(expected, sort_keys=True))
    elif actual_text != case["exp_body"]:
        problems.append(f"body differs:\n  got      {actual_text[:500]!r}\n  expected {case['exp_body'][:500]!r}")

    if rewrite and problems:
        head = original.split("--- expect", 1)[0]
        lines = [str(r.status_code)] + [f"{k}: {r.headers.get(k, '')}" if v != "*" else f"{k}: *"
                                        for k, v in case["exp_headers"].items()]
        shown = json.dumps(actual, indent=2, sort_keys=True) if is_json else actual_text
        with open(path, "w") as f:
            f.write(head + "--- expect\n" + "\n".join(lines) + "\n\n" + shown + "\n")
        print(f"rewrote {path}")
        return []
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default=os.environ.get("DATASPACE_URL"))
    ap.add_argument("--rewrite", action="store_true")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    if not args.url:
        ap.error("no --url and no DATASPACE_URL")
    files = []
    for p in args.paths:
        files += sorted(glob.glob(os.path.join(p, "*", "*.case"))) if os.path.isdir(p) else [p]
    failed = 0
    for path in files:
        try:
            problems = run_case(args.url.rstrip("/"), path, args.rewrite)
        except Exception as e:  # a malformed case is a failure, not a crash of the runner
            problems = [f"{type(e).__name__}: {e}"]
        print(("FAIL " if problems else "ok   ") + os.path.relpath(path))
        for p in problems:
            print("     " + p)
        failed += bool(problems)
    print(f"{len(files) - failed}/{len(files)} golden cases pass")
    return 1 if failed or not files else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Helpers of deploy/monitoring/check.sh (standard library only).

  promql.py dashboard-rules DASHBOARD.json        lint the dashboard; print its queries
                                                  as a Prometheus rules file (stdout)
  promql.py refs RULES.yml DASHBOARD.json         print the metric and label names the
                                                  rules and the dashboard use (JSON)
  promql.py compare REFS.json EXPOSITION.txt METRICS.rs LAZY_NAME...
                                                  check every name against a scrape of
                                                  `vigil serve`

A query is not parsed here (promtool does that); names are found by a small tokenizer:
strings, label matchers and ranges are set aside, function and aggregation names (an
identifier followed by "(") and keywords are skipped, and what is left is metric names.
"""

import json
import re
import sys

# Series Prometheus itself writes for every target or alert, not exported by the target.
FROM_PROMETHEUS = {
    "up",
    "scrape_duration_seconds",
    "scrape_samples_scraped",
    "scrape_samples_post_metric_relabeling",
    "scrape_series_added",
    "ALERTS",
    "ALERTS_FOR_STATE",
}
# Labels Prometheus attaches (target labels) or that belong to the query language.
LABELS_FROM_PROMETHEUS = {"job", "instance", "__name__", "le", "quantile", "alertname", "alertstate"}
KEYWORDS = {
    "and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring",
    "group_left", "group_right", "inf", "nan", "start", "end",
}
GROUPING = r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)"
GRAFANA_INTERVALS = re.compile(r"\$\{?(__rate_interval|__interval|__range)\}?")
GRAFANA_MS = re.compile(r"\$\{?(__interval_ms|__range_ms)\}?")
GRAFANA_S = re.compile(r"\$\{?(__range_s)\}?")
GRAFANA_VARS = re.compile(r"\$\{[A-Za-z0-9_]+(?::[A-Za-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z0-9_]+\]\]")


def fail(message):
    print(message, file=sys.stderr)
    sys.exit(1)


def substitute(expr):
    """A Grafana query as Prometheus would get it: intervals become 1m, every other
    variable (they sit in label matchers here) the regex .*"""
    expr = GRAFANA_INTERVALS.sub("1m", expr)
    expr = GRAFANA_MS.sub("60000", expr)
    expr = GRAFANA_S.sub("60", expr)
    return GRAFANA_VARS.sub(".*", expr)


def strip_strings(expr):
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)


def names_in(expr):
    """(metric names, label names) a PromQL expression uses."""
    expr = strip_strings(expr)
    labels = set()
    # Label matchers: {name op "value", ...}
    for body in re.findall(r"\{([^{}]*)\}", expr):
        for m in re.finditer(r"([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)", body):
            labels.add(m.group(1))
    expr = re.sub(r"\{[^{}]*\}", " ", expr)
    expr = re.sub(r"\[[^\[\]]*\]", " ", expr)  # ranges, subqueries
    for m in re.finditer(GROUPING, expr):
        labels.update(x.strip() for x in m.group(2).split(",") if x.strip())
    expr = re.sub(GROUPING, " ", expr)
    metrics = set()
    for m in re.finditer(r"(?<![\w.:])([A-Za-z_:][A-Za-z0-9_:]*)", expr):
        name = m.group(1)
        if name.lower() in KEYWORDS:
            continue
        if re.match(r"\s*\(", expr[m.end():]):
            continue  # a function or an aggregation
        metrics.add(name)
    return metrics, labels


def walk(node, path="$"):
    """Every (path, dict) in a JSON document."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}[{i}]")


def dashboard_queries(path):
    """[(where, PromQL as written)] of a dashboard: every `expr` (panel targets,
    annotations) and the PromQL inside every variable's label_values()/query_result()."""
    with open(path, encoding="utf-8") as f:
        dash = json.load(f)
    queries = []
    for where, node in walk(dash):
        if isinstance(node.get("expr"), str):
            queries.append((where, node["expr"]))
    for var in dash.get("templating", {}).get("list", []):
        if var.get("type") != "query":
            continue
        q = var.get("query")
        q = q.get("query", "") if isinstance(q, dict) else (q or "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*", q)
        m = m or re.fullmatch(r"\s*query_result\((.*)\)\s*", q)
        if m:
            queries.append((f"variable {var['name']}", m.group(1)))
        elif not re.fullmatch(r"\s*(label_names|metrics|label_values)\(.*\)\s*", q):
            fail(f"variable {var.get('name')}: query not understood: {q!r}")
    return dash, queries


def lint_dashboard(dash):
    problems = []
    variables = {v.get("name"): v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("no `datasource` template variable of type datasource, query prometheus")
    if not isinstance(dash.get("schemaVersion"), int) or dash["schemaVersion"] < 36:
        problems.append(f"schemaVersion {dash.get('schemaVersion')!r}: expected a current one (>= 36)")
    if not dash.get("uid") or not dash.get("title"):
        problems.append("the dashboard needs a uid and a title")
    ids = []
    for where, node in walk(dash):
        d = node.get("datasource")
        if isinstance(d, dict) and d.get("type") == "prometheus" and d.get("uid") != "${datasource}":
            problems.append(f"{where}: datasource uid {d.get('uid')!r}, not ${{datasource}}")
        if isinstance(d, str):
            problems.append(f"{where}: datasource given as a name ({d!r}), not {{type, uid}}")
    for p in dash.get("panels", []):
        ids.append(p.get("id"))
        if p.get("type") == "row":
            continue
        if (p.get("datasource") or {}).get("uid") != "${datasource}":
            problems.append(f"panel {p.get('title')!r}: datasource is not ${{datasource}}")
        if not p.get("targets"):
            problems.append(f"panel {p.get('title')!r}: no query")
        for t in p.get("targets", []):
            if not str(t.get("expr", "")).strip():
                problems.append(f"panel {p.get('title')!r}: empty expr in target {t.get('refId')}")
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    return problems


def rules_exprs(path):
    """Every `expr:` of a rules file, read line by line (block scalars `|`, `>` and their
    chomping variants, or one-line plain or quoted scalars); the count is checked
    against the rules found so that a form this reader misses fails loudly."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    exprs, rules = [], 0
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"\s*-\s+(alert|record):", line):
            rules += 1
        m = re.match(r"(\s*)(?:-\s+)?expr:\s*(.*?)\s*$", line)
        if not m or line.lstrip().startswith("#"):
            i += 1
            continue
        indent, value = len(m.group(1)), m.group(2)
        if re.fullmatch(r"[|>][+-]?", value):
            body = []
            i += 1
            while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
                body.append(lines[i].strip())
                i += 1
            exprs.append(" ".join(x for x in body if x))
            continue
        if value.startswith('"'):
            value = json.loads(value)
        elif value.startswith("'"):
            value = value[1:-1].replace("''", "'")
        exprs.append(value)
        i += 1
    if len(exprs) != rules:
        fail(f"{path}: {rules} rules but {len(exprs)} expr values read; write each expr as a "
             "block scalar (`expr: |`) or on one line")
    record = set(re.findall(r"^\s*-\s+record:\s*['\"]?([A-Za-z_:][A-Za-z0-9_:]*)", "\n".join(lines), re.M))
    return exprs, record


def cmd_dashboard_rules(dash_path):
    dash, queries = dashboard_queries(dash_path)
    problems = lint_dashboard(dash)
    if problems:
        fail("dashboard problems:\n  " + "\n  ".join(problems))
    print("# The queries of " + dash_path + ", as recording rules, so that promtool parses them.")
    print("groups:")
    print("  - name: dashboard")
    print("    rules:")
    for n, (where, q) in enumerate(queries):
        print(f"      # {where}")
        print(f"      - record: dashboard:query_{n}")
        print(f"        expr: {json.dumps(substitute(q))}")
    print(f"{len(queries)} queries", file=sys.stderr)


def cmd_refs(rules_path, dash_path):
    exprs, recorded = rules_exprs(rules_path)
    _, queries = dashboard_queries(dash_path)
    refs = {"metrics": {}, "labels": {}}
    for source, q in [(rules_path, e) for e in exprs] + [(f"{dash_path} {w}", substitute(q)) for w, q in queries]:
        metrics, labels = names_in(q)
        for name in metrics - recorded:
            refs["metrics"].setdefault(name, []).append(source)
        for name in labels:
            refs["labels"].setdefault(name, []).append(source)
    if not refs["metrics"]:
        fail("no metric name found in the rules or the dashboard: the tokenizer is broken")
    json.dump(refs, sys.stdout, indent=1, sort_keys=True)


def cmd_compare(refs_path, exposition_path, metrics_rs, lazy):
    with open(refs_path, encoding="utf-8") as f:
        refs = json.load(f)
    samples, types, labels = set(), {}, set()
    with open(exposition_path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            m = re.match(r"#\s*TYPE\s+(\S+)\s+(\S+)", line)
            if m:
                types[m.group(1)] = m.group(2)
                continue
            if not line or line.startswith("#"):
                continue
            m = re.match(r"([A-Za-z_:][A-Za-z0-9_:]*)(\{([^}]*)\})?", line)
            samples.add(m.group(1))
            for lm in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)="', m.group(3) or ""):
                labels.add(lm.group(1))
    if not samples:
        fail(f"{exposition_path}: no sample in the scrape")
    with open(metrics_rs, encoding="utf-8") as f:
        source = f.read()
    unknown, notes = [], []
    for name, where in sorted(refs["metrics"].items()):
        if name in samples:
            continue
        if name in FROM_PROMETHEUS:
            notes.append(f"{name}: written by Prometheus itself, not by the target")
            continue
        if name in lazy and re.search(r'"%s"' % re.escape(name), source):
            notes.append(f"{name}: no series until its event (a backend or device failing); "
                         f"registered in {metrics_rs}")
            continue
        hint = ""
        if types.get(name) in ("histogram", "summary"):
            hint = f" ({types[name]} family: query {name}_bucket, _sum or _count)"
        unknown.append(f"metric {name}{hint}, used in {sorted(set(where))[0]}")
    # Labels of the lazy metrics (from, to) are taken from their registration.
    lazy_labels = set()
    for name in lazy:
        m = re.search(r'"%s",\s*"[^"]*",\s*&\[([^\]]*)\]' % re.escape(name), re.sub(r"\s+", " ", source))
        if m:
            lazy_labels.update(re.findall(r'"([^"]+)"', m.group(1)))
    known_labels = labels | LABELS_FROM_PROMETHEUS | lazy_labels
    for name, where in sorted(refs["labels"].items()):
        if name not in known_labels:
            unknown.append(f"label {name}, used in {sorted(set(where))[0]}")
    for n in notes:
        print(f"  note: {n}")
    if unknown:
        fail("names the daemon does not export:\n  " + "\n  ".join(unknown))
    print(f"  {len(refs['metrics'])} metric names and {len(refs['labels'])} label names checked")


def main(argv):
    if len(argv) == 2 and argv[0] == "dashboard-rules":
        cmd_dashboard_rules(argv[1])
    elif len(argv) == 3 and argv[0] == "refs":
        cmd_refs(argv[1], argv[2])
    elif len(argv) >= 4 and argv[0] == "compare":
        cmd_compare(argv[1], argv[2], argv[3], set(argv[4:]))
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

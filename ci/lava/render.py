#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Render and validate the LAVA jobs of the board tier (used by ci/board-jobs).

  render.py OUT TEMPLATE...     concatenate the templates less their comment
                                lines, replace every placeholder by the
                                environment variable it names (an unset one
                                is an error), quoted for where it stands
                                (below), write OUT;
                                JOB_MINUTES=auto: the sum of the actions'
                                timeouts plus JOB_MARGIN_MINUTES (10)
  render.py --validate JOB...   validate each job with LAVA's own schema
                                (lava_common.schemas.validate, strict), and
                                check that its timeout is at least the sum
                                of its actions' timeouts
  render.py --self-test         show that hostile values (a URL with a
                                quote, a space, a '$') render to YAML that
                                parses and to shell words that round-trip,
                                and that a newline or NUL is refused

The placeholders, each in the one context it is quoted for (a template
that puts one elsewhere is refused):
  "...@NAME@..."      inside a double-quoted YAML string: the value,
                      escaped for that string;
  "...@sh:NAME@..."   a word of a shell command that is a double-quoted
                      YAML string (a test step): the value quoted for the
                      shell (shlex.quote), then escaped for the string;
  @int:NAME@          a bare YAML integer (a timeout): digits only;
  @CONTEXT@           alone on its line: the QEMU 'context' block when
                      CONTEXT_ARCH is set, nothing otherwise.
A value with a newline, a carriage return, a NUL or another control
character is refused: a job's value is one line of text.
"""
import os
import re
import shlex
import subprocess
import sys
import tempfile

import yaml

PLACEHOLDER = re.compile(r"@(?:(sh|int):)?([A-Z][A-Z0-9_]*)@")
HERE = os.path.dirname(os.path.abspath(__file__))


class RenderError(Exception):
    """A template or a value that cannot be rendered safely."""


def check_value(name, value):
    """Refuse a value that is not one line of printable text."""
    for ch, what in (("\n", "a newline"), ("\r", "a carriage return"), ("\0", "a NUL")):
        if ch in value:
            raise RenderError(f"{name} contains {what}: a LAVA job value must be one line")
    for ch in value:
        if (ord(ch) < 0x20 and ch != "\t") or 0x7f <= ord(ch) <= 0x9f:
            raise RenderError(f"{name} contains the control character {ord(ch):#04x}")


def yaml_escape(value):
    """VALUE as the inside of a double-quoted YAML string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")


def in_double_quotes(prefix):
    """True if a line of YAML that starts with PREFIX is then inside a
    double-quoted string (whose escapes are backslash pairs)."""
    inside, i = False, 0
    while i < len(prefix):
        if inside and prefix[i] == "\\":
            i += 2
            continue
        if prefix[i] == '"':
            inside = not inside
        i += 1
    return inside


def context(env):
    """The 'context' block: only for LAVA's qemu device type."""
    arch = env.get("CONTEXT_ARCH", "")
    if not arch:
        return ""
    check_value("CONTEXT_ARCH", arch)
    return ("context:\n"
            f"  arch: \"{yaml_escape(arch)}\"\n"
            "  machine: virt\n"
            "  cpu: max\n"
            "  memory: 2048\n"
            "  netdevice: user\n"
            "  extra_options:\n"
            "    - -smp 2\n")


def minutes(timeout):
    """A LAVA timeout ({'minutes': N} or seconds/hours) in minutes."""
    t = timeout or {}
    return t.get("hours", 0) * 60 + t.get("minutes", 0) + -(-t.get("seconds", 0) // 60)


def actions_minutes(job):
    """The sum of the actions' timeouts (the default action timeout for an
    action that sets none)."""
    default = minutes(job.get("timeouts", {}).get("action"))
    total = 0
    for action in job.get("actions", []):
        _, data = next(iter(action.items()))
        total += minutes(data.get("timeout")) if "timeout" in data else default
    return total


def substitute(lines, env):
    """The text of LINES ((where, line) pairs) with every placeholder
    replaced by its value from ENV, quoted for its context."""
    out = []
    for where, line in lines:
        if line.strip() == "@CONTEXT@":
            out.append(context(env))
            continue

        def value(m, where=where, line=line):
            kind, name = m.group(1), m.group(2)
            if name == "CONTEXT":
                raise RenderError(f"{where}: @CONTEXT@ must be alone on its line")
            v = env[name]
            check_value(name, v)
            quoted = in_double_quotes(line[:m.start()])
            if kind == "int":
                if quoted:
                    raise RenderError(f"{where}: @int:{name}@ inside a quoted string")
                if not v.isdigit() or not v.isascii():
                    raise RenderError(f"{name} is '{v}', not a number of minutes")
                return v
            if not quoted:
                raise RenderError(f"{where}: {m.group(0)} is not inside a double-quoted YAML string: quote it")
            return yaml_escape(shlex.quote(v) if kind == "sh" else v)

        out.append(PLACEHOLDER.sub(value, line))
    return "".join(out)


def render_text(templates, env):
    """The job of TEMPLATES (paths) with the values of ENV, as text."""
    # Full-line comments of the templates describe the templates: drop them.
    lines = []
    for t in templates:
        with open(t, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.lstrip().startswith("#"):
                    lines.append((f"{os.path.basename(t)}:{n}", line))
    names = " ".join(os.path.relpath(t, os.path.dirname(templates[0]))
                     for t in templates)
    header = f"# Generated by ci/board-jobs from ci/lava/: {names}\n"
    env = dict(env)
    missing = sorted({m.group(2) for _, line in lines for m in PLACEHOLDER.finditer(line)
                      if m.group(2) != "CONTEXT" and m.group(2) not in env})
    if missing:
        raise RenderError(f"no value for {', '.join('@%s@' % m for m in missing)}")
    auto = env.get("JOB_MINUTES") == "auto"
    if auto:
        env["JOB_MINUTES"] = "0"
    text = header + substitute(lines, env)
    try:
        job = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RenderError(f"the job is not valid YAML: {exc}") from exc
    if auto:
        margin = int(env.get("JOB_MARGIN_MINUTES", "10"))
        env["JOB_MINUTES"] = str(actions_minutes(job) + margin)
        text = header + substitute(lines, env)
    return text


def render(out, templates):
    try:
        text = render_text(templates, os.environ)
    except RenderError as exc:
        sys.exit(f"render.py: {out}: {exc}")
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(out + ".tmp", out)


def describe(action):
    kind, data = next(iter(action.items()))
    if kind == "deploy":
        return f"deploy to {data.get('to')}"
    if kind == "boot":
        return f"boot {data.get('method')}"
    if kind == "test":
        return "test " + ",".join(d.get("name", "?") for d in data.get("definitions", []))
    return kind


def validate(jobs):
    from voluptuous import Invalid
    from lava_common.schemas import validate as lava_validate

    bad = 0
    for job in jobs:
        try:
            with open(job, encoding="utf-8") as f:
                data = yaml.safe_load(f)
            lava_validate(data, strict=True)
        except (OSError, yaml.YAMLError) as exc:
            print(f"INVALID {job}: {exc}")
            bad += 1
            continue
        except Invalid as exc:
            print(f"INVALID {job}: {exc.msg} at {'/'.join(map(str, exc.path))}")
            bad += 1
            continue
        need, have = actions_minutes(data), minutes(data["timeouts"]["job"])
        if have < need:
            print(f"INVALID {job}: job timeout {have} min is less than the sum of "
                  f"its actions' timeouts, {need} min")
            bad += 1
            continue
        steps = "; ".join(describe(a) for a in data["actions"])
        print(f"valid   {job}: {data['device_type']}: {steps}; "
              f"timeout {have} min >= actions {need} min")
    return 1 if bad else 0


def self_test():
    """Render the committed templates with hostile values; 0 if all holds."""
    url = "https://lab.example.org/it's a \"test\"/$HOME/x#y: z\\w @DRIVER@"
    env = {"SERIES_ID": "series-0123456789ab", "BOARD": "b", "DRIVER": "panthor",
           "GPU": "Mali-G610 \"$(id)\"", "DEVICE_TYPE": "rk3588-rock-5b",
           "JOB_MINUTES": "auto", "IGT_MINUTES": "40", "IGT_VERSION": "2.5",
           "IGT_SHA256": "0123 abc", "XFAILS": "panthor-rk3588", "EXPECT_DEVICE": "yes",
           "CONTEXT_ARCH": "arm64 \"$x\" it's"}
    for name in ("KERNEL_URL", "DTB_URL", "MODULES_URL", "ROOTFS_URL", "TESTS_URL",
                 "IGT_URL", "RAMDISK_URL"):
        env[name] = url
    failed = []

    def check(what, ok):
        print(f"{'ok' if ok else 'FAILED'}: {what}")
        if not ok:
            failed.append(what)

    # 1. A value as a shell word: bash and sh give it back byte for byte.
    for sh in ("bash", "sh"):
        got = subprocess.run([sh, "-c", "printf %s " + shlex.quote(url)],
                             capture_output=True, text=True, check=False).stdout
        check(f"shlex.quote of {url!r} round-trips through {sh}", got == url)

    # 2. The committed templates, every part, render to YAML that parses,
    # with the values intact, and to test steps whose words are the values.
    parts = sorted(f for f in os.listdir(HERE) if f.endswith(".yaml.in") and f != "job.yaml.in")
    # The QEMU deploy and the TFTP deploy both hold a kernel: one job each.
    jobs = [[p for p in parts if p != "deploy-boot-qemu.yaml.in"],
            [p for p in parts if not p.startswith(("deploy-tftp", "boot-"))]]
    steps = []
    for job_parts in jobs:
        files = [os.path.join(HERE, "job.yaml.in")] + [os.path.join(HERE, p) for p in job_parts]
        try:
            text = render_text(files, env)
            job = yaml.safe_load(text)
        except (RenderError, yaml.YAMLError) as exc:
            check(f"{' '.join(job_parts)} render to YAML that parses ({exc})", False)
            continue
        check(f"job.yaml.in {' '.join(job_parts)} render to YAML that parses", True)
        if "deploy-boot-qemu.yaml.in" in job_parts:
            check("the QEMU context keeps its arch", job["context"]["arch"] == env["CONTEXT_ARCH"])
        check("metadata keeps the values (kernel-url, gpu, igt-sha256)",
              job["metadata"]["kernel-url"] == url and job["metadata"]["gpu"] == env["GPU"]
              and job["metadata"]["igt-sha256"] == env["IGT_SHA256"])
        check("the job name keeps the GPU's quotes and '$'",
              job["job_name"] == f"mali-sparse series-0123456789ab on b (panthor, {env['GPU']})")
        for action in job["actions"]:
            kind, data = next(iter(action.items()))
            if kind == "deploy":
                urls = [v["url"] for v in data.values() if isinstance(v, dict) and "url" in v]
                urls += [v["url"] for v in data.get("images", {}).values()]
                check(f"deploy to {data['to']}: {len(urls)} URLs intact",
                      bool(urls) and all(u == url for u in urls))
            if kind == "test":
                for d in data["definitions"]:
                    steps += d["repository"]["run"]["steps"]
    # Each step run by bash with the commands it calls stubbed: each call
    # appends its name and arguments (NUL-terminated, a line per call) to
    # $CALLS; every step must run, and every call get the values.
    stubs = r"""
function [ { return 1; }
mkdir() { :; }
tar() { cat >/dev/null; }
call() { printf '%s\0' "$@" >>"$CALLS"; echo >>"$CALLS"; }
curl() { call curl "$@"; }
function /mali-ci/run-igt { call run-igt "$@"; }
function /mali-ci/run-uapi { call run-uapi "$@"; }
function /mali-ci/check-health { call check-health "$@"; }
"""
    want = {"curl": ["curl", "-fsSL", "--retry", "4", url],
            "run-igt": ["run-igt", "panthor", "panthor-rk3588", url, env["IGT_SHA256"]],
            "run-uapi": ["run-uapi", "panthor", "yes"],
            "check-health": None}
    seen = set()
    with tempfile.TemporaryDirectory() as tmp:
        calls = os.path.join(tmp, "calls")
        for step in steps:
            open(calls, "w", encoding="utf-8").close()
            res = subprocess.run(["bash", "-c", stubs + step], capture_output=True, text=True,
                                 check=False, env=dict(os.environ, CALLS=calls))
            with open(calls, encoding="utf-8") as f:
                made = [c.split("\0") for c in f.read().split("\0\n")[:-1]]
            ok = res.returncode == 0 and bool(made) and all(
                c and c[0] in want and (want[c[0]] is None or c == want[c[0]]) for c in made)
            seen.update(c[0] for c in made if c)
            check(f"step {step[:50]!r}...: runs, its calls "
                  f"{', '.join(c[0] for c in made if c) or 'none'} get the values intact"
                  + ("" if ok else f" (exit {res.returncode}: {res.stderr.strip()}; calls {made})"), ok)
    check("the steps call curl, run-igt, run-uapi and check-health", seen == set(want))

    # 3. Refused: a newline, a NUL, a carriage return; a bare placeholder.
    for bad, what in (("x\ny", "newline"), ("x\0y", "NUL"), ("x\ry", "carriage return")):
        try:
            check_value("TESTS_URL", bad)
            check(f"a value with a {what} is refused", False)
        except RenderError as exc:
            check(f"a value with a {what} is refused: {exc}", "TESTS_URL" in str(exc) and what in str(exc))
    with tempfile.TemporaryDirectory() as tmp:
        bare = os.path.join(tmp, "bare.yaml.in")
        with open(bare, "w", encoding="utf-8") as f:
            f.write("device_type: @DEVICE_TYPE@\n")
        try:
            render_text([bare], env)
            check("a placeholder outside quotes is refused", False)
        except RenderError as exc:
            check(f"a placeholder outside quotes is refused: {exc}", "quote it" in str(exc))
    print(f"render.py self-test: {'FAILED: ' + str(len(failed)) if failed else 'all passed'}")
    return 1 if failed else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "--validate":
        sys.exit(validate(sys.argv[2:]))
    if sys.argv[1:] == ["--self-test"]:
        sys.exit(self_test())
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    render(sys.argv[1], sys.argv[2:])


if __name__ == "__main__":
    main()

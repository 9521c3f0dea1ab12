"""Benchmark: the images stage on the real OpenKasugai v1.1.0 source (controllers and calc functions).

Real: the function_images role run by ansible-playbook against this machine, buildah in the host's
storage, the v1.1.0 controller source, hardware-drivers and parson from the site mirror
($OKL_MIRROR, else ../shared/mirror), Go modules from the Go module proxy, Debian's DPDK.
Stand-ins: only the base OS images of the upstream Dockerfiles (tests/bed/bases.sh). No cluster:
the images are built and tagged, not exported or loaded.

Measures, with a Go cache of its own (so the first run is cold for Go, whatever else the host cached):
  1. cold: every image built (function_images_force) with empty Go module and build caches;
  2. warm: every image built again (force) with the caches the cold run filled;
  3. no-op: a re-run with nothing changed (target: under 15 s);
  4. one controller changed (a line appended to CPUFunction's main.go): the re-run's time and how
     many images it rebuilt (target: 1).
Prints the numbers; never fails on time. Leaves the images in local storage (the e2e reuses them).
Takes about 15 minutes on 2 cores.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NOOP_TARGET_S = 15.0
FUNCTIONS = [
    {"name": "cpufunc_calcapp", "tag": "latest", "context": "sample-functions/functions/for_all_in_one/calc-func/cpufunc_calcapp"},
    {"name": "cpufunc_sidecar", "tag": "latest", "context": "sample-functions/functions/for_all_in_one/cpugpu-func/cpufunc_sidecar"},
]


def mirror() -> Path:
    path = Path(os.environ.get("OKL_MIRROR") or REPO.parent / "shared" / "mirror")
    if not (path / "src").is_dir():
        raise SystemExit(f"no site mirror at {path} (set OKL_MIRROR)")
    return path.resolve()


def image_ids() -> dict[str, str]:
    out = subprocess.run(["buildah", "images", "--json", "--no-trunc"], capture_output=True, text=True, check=True).stdout
    return {name: image["id"] for image in json.loads(out or "[]") for name in image.get("names") or []}


def main() -> None:
    src = mirror() / "src"
    bases = subprocess.run(["bash", str(REPO / "tests" / "bed" / "bases.sh")], capture_output=True, text=True, check=True)
    bases_file = bases.stdout.strip().splitlines()[-1]
    downloads = {
        "kind": {"version": "v0", "url": "https://example.invalid/kind", "checksum": "sha256:" + "0" * 64},
        "hardware_drivers": {"version": "7d90364", "url": f"file://{src}/openkasugai-hardware-drivers-7d90364.tar.gz",
                             "checksum": "sha256:0473990cb8d8b17c2aadf888c95e5ae9f3f9c3d2e290e46ef910be4532061e8d"},
        "parson": {"version": "ba29f4e", "url": f"file://{src}/parson-ba29f4e.tar.gz",
                   "checksum": "sha256:b83cb4e0a0470e3fd8c634dc14b0964c288836b6f11d78213b7dbc4753c7e264"},
    }
    with tempfile.TemporaryDirectory(prefix="okl-bench-ci-") as tmp:
        work = Path(tmp)
        (work / "play.yml").write_text(
            "- hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - ansible.builtin.include_role:\n        name: openkasugai.all_in_one.function_images\n")
        extra = {
            "lab_model": {
                "state_dir": str(work / "state"), "registry": {"type": "none"}, "downloads": downloads,
                "clusters": [], "gpus": [], "nics": [],
                "controller_source": {"type": "archive", "git_url": "", "version": "", "path": "",
                                      "archive_url": f"file://{src}/openkasugai-controller-v1.1.0.tar.gz",
                                      "checksum": "sha256:30e574f3510a7c5f962b1bf47afeffbff4c185db25e2c2ad8331ae803a4b38f8"},
            },
            "function_images_list": FUNCTIONS,
            "function_images_kind_load": False,
            "function_images_go_cache_dir": str(work / "go-cache"),
        }

        def play(label: str, **more) -> float:
            varsfile = work / f"vars-{label}.json"
            varsfile.write_text(json.dumps({**extra, **more}))
            env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collection-root"), ANSIBLE_FORCE_COLOR="0",
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
            start = time.monotonic()
            proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local",
                                   "-e", f"ansible_python_interpreter={sys.executable}", "-e", f"@{bases_file}",
                                   "-e", f"@{varsfile}", str(work / "play.yml")], capture_output=True, text=True, env=env, check=False)
            elapsed = time.monotonic() - start
            if proc.returncode != 0:
                print(proc.stdout[-6000:], proc.stderr[-3000:])
                raise SystemExit(f"{label} run failed (rc {proc.returncode})")
            return elapsed

        cold = play("cold", function_images_force=True)
        warm = play("warm", function_images_force=True)
        noop = play("noop")
        unpacked = next((work / "state" / "function_images").glob("src-*"))
        changed = work / "changed-source"
        shutil.copytree(unpacked, changed, symlinks=True)
        with open(changed / "src" / "CPUFunction" / "cmd" / "main.go", "a", encoding="utf-8") as handle:
            handle.write("// bench: a one-line change\n")
        before = image_ids()
        one = play("one-changed", function_images_source_type="path", function_images_source_path=str(changed))
        after = image_ids()
        ours = [name for name in after if name.startswith("localhost/") and (name.endswith(":1.1.0") or "cpufunc_" in name)]
        rebuilt = sorted(name for name in ours if before.get(name) != after.get(name))
        print("images: 6 controllers of the CPU path, libfpga, cpufunc_calcapp, cpufunc_sidecar")
        print(f"cold build (empty Go caches): {cold:.0f} s")
        print(f"warm build (Go caches filled): {warm:.0f} s")
        print(f"no-op re-run: {noop:.1f} s (target < {NOOP_TARGET_S:.0f} s){'' if noop < NOOP_TARGET_S else '  ABOVE TARGET'}")
        print(f"one controller changed: {one:.0f} s, rebuilt {len(rebuilt)} image(s): {' '.join(rebuilt)} (target: cpufunction only)")


if __name__ == "__main__":
    main()

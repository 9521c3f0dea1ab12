"""Benchmark: a re-run of the function_images role with the seed's 7 images unchanged.

Real: the role, run by ansible-playbook against this machine (local connection), buildah in the
host's storage, pushes over TLS to a throw-away docker-registry (tests/unit/registry_fixture.py).
Fake: the controller source is a tree laid out like openkasugai/controller whose 7 Containerfiles
build FROM scratch (no base image can be pulled here), with the real dependencies
(cpufunc_gst on rcv_video_tool, gpufunc_dsa on gpu_infer_tcp, gpu_infer_tcp's context being the
whole sample-functions directory). The image list is the role's default one (GPU images on,
without the NVIDIA runtime this machine lacks).

Prints: the first run's time, the re-run's time (target: under 10 s) and how many images the
re-run built (target: 0, counted from image IDs). Never fails on time. Removes what it built.
Run by tests/bench/run.sh, whose PYTHONPATH makes the collection and its test helpers importable.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from ansible_collections.openkasugai.all_in_one.tests.unit.registry_fixture import TlsRegistry

REPO = Path(__file__).resolve().parents[2]

TARGET_S = 10.0
BASES = {"cpufunc_gst": "localhost/rcv_video_tool:1.0.0", "gpufunc_dsa": "localhost/gpu_infer_tcp:1.0.0"}


def fake_source(root: Path, images: list[dict]) -> None:
    for image in images:
        ctx = root / image["context"]
        ctx.mkdir(parents=True, exist_ok=True)
        cf = ctx / (image.get("containerfile") or "Dockerfile")
        cf.parent.mkdir(parents=True, exist_ok=True)
        payload = cf.parent / f"{image['name']}.txt"
        payload.write_text(f"{image['name']} bench fixture\n")
        rel = payload.relative_to(ctx)
        cf.write_text(f"FROM {BASES.get(image['name'], 'scratch')}\nCOPY {rel} /opt/{image['name']}.txt\n")


def local_ids(names: list[str]) -> dict[str, str]:
    out = subprocess.run(["buildah", "images", "--json", "--no-trunc"], capture_output=True, text=True, check=True).stdout
    ids = {}
    for image in json.loads(out or "[]"):
        for name in image.get("names") or []:
            if name in names:
                ids[name] = image["id"]
    return ids


def play(workdir: Path, extra: dict, label: str) -> float:
    varsfile = workdir / f"vars-{label}.json"
    varsfile.write_text(json.dumps(extra))
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collection-root"), ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    if os.environ.get("OKL_BENCH_PROFILE"):
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
    start = time.monotonic()
    proc = subprocess.run(["ansible-playbook", "-i", "localhost,", "-c", "local", "-e", f"ansible_python_interpreter={sys.executable}",
                           "-e", f"@{varsfile}", str(workdir / "play.yml")], capture_output=True, text=True, env=env, check=False)
    elapsed = time.monotonic() - start
    if os.environ.get("OKL_BENCH_PROFILE"):
        print(f"--- {label}\n" + "\n".join(proc.stdout.splitlines()[-30:]))
    if proc.returncode != 0:
        print(proc.stdout[-6000:], proc.stderr[-3000:])
        raise SystemExit(f"{label} run failed (rc {proc.returncode})")
    return elapsed


def main() -> None:
    defaults = yaml.safe_load((REPO / "roles" / "function_images" / "defaults" / "main.yml").read_text())
    images = [{k: v for k, v in i.items() if k != "runtime"} for i in defaults["function_images_list"]]
    with TlsRegistry() as registry, tempfile.TemporaryDirectory(prefix="okl-bench-fi-") as tmp:
        work = Path(tmp)
        fake_source(work / "controller", images)
        (work / "play.yml").write_text(
            "- hosts: all\n  gather_facts: false\n  tasks:\n"
            "    - ansible.builtin.include_role:\n        name: openkasugai.all_in_one.function_images\n"
        )
        state = work / "state"
        extra = {
            "lab_model": {
                "state_dir": str(state),
                "registry": {"type": "external", "url": registry.url, "host": "localhost", "port": registry.port,
                             "project": "bench", "ca_file": str(registry.ca_file), "username": "", "password": ""},
                "downloads": {}, "clusters": [], "gpus": [], "nics": [],
                "controller_source": {"type": "path", "git_url": "", "version": "", "path": str(work / "controller"),
                                      "archive_url": "", "checksum": ""},
            },
            "function_images_source_type": "path",
            "function_images_source_path": str(work / "controller"),
            "function_images_list": images,
            "function_images_controllers": [],   # the real controllers: tests/e2e/run.sh's images phases
            "function_images_gpu": True,
        }
        names = [f"{registry.url}/bench/{i['name']}:{i.get('tag', 'latest')}" for i in images]
        try:
            first = play(work, extra, "first")
            before = local_ids(names)
            rerun = play(work, extra, "rerun")
            after = local_ids(names)
            rebuilt = sum(1 for n in names if before.get(n) != after.get(n))
            pushed = sum(1 for i in images if registry.tags(f"bench/{i['name']}"))
            print(f"images: {len(images)} (pushed to the TLS registry: {pushed})")
            print(f"first run (build + push): {first:.1f} s")
            print(f"re-run, nothing changed: {rerun:.1f} s (target < {TARGET_S:.0f} s){'' if rerun < TARGET_S else '  ABOVE TARGET'}")
            print(f"builds in the re-run: {rebuilt} (target 0)")
        finally:
            play(work, {**extra, "function_images_state": "absent"}, "absent")


if __name__ == "__main__":
    main()

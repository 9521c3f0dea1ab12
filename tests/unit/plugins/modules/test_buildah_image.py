"""Tests of the buildah_image module against the real tools.

Real: buildah (builds into the host's container storage), skopeo, a TLS docker-registry with a
test CA (tests/unit/registry_fixture.py), the host's docker daemon pulling through
/etc/docker/certs.d trust and loading exported archives. The module runs as Ansible runs it: a
separate Python process given its arguments in a JSON file.
Fake: nothing. Build contexts are small fixtures (tests/unit/fixtures/images/) copied per test.

Every image these tests create is named ``.../okl-bt-<run id>-...`` and removed at the end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from ansible_collections.openkasugai.all_in_one.tests.unit.registry_fixture import TlsRegistry

HERE = Path(__file__).resolve()
UNIT = HERE.parents[2]
REPO = HERE.parents[4]
FIXTURES = UNIT / "fixtures" / "images"

pytestmark = pytest.mark.skipif(shutil.which("buildah") is None or shutil.which("skopeo") is None,
                                reason="buildah and skopeo are needed (tests/bed/setup.sh installs them)")

RUN = "okl-bt-" + uuid.uuid4().hex[:8]
LABEL = "io.openkasugai.input-digest"


def run_module(args, tmp_path, check=False, diff=True):
    """Run plugins/modules/buildah_image.py the way Ansible does and return its JSON result."""
    payload = dict(args)
    payload["_ansible_check_mode"] = check
    payload["_ansible_diff"] = diff
    argsfile = tmp_path / f"args-{uuid.uuid4().hex[:6]}.json"
    argsfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": payload}))
    env = dict(os.environ, PYTHONPATH=str(REPO / ".collection-root"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.openkasugai.all_in_one.plugins.modules.buildah_image",
                           str(argsfile)], capture_output=True, text=True, env=env, check=False)
    assert "Traceback" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    assert lines, f"no JSON from the module: rc={proc.returncode} {proc.stdout} {proc.stderr}"
    return json.loads(lines[-1])


def sh(*argv, check=True):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check)


def local_label(ref):
    proc = sh("buildah", "inspect", "--type", "image", ref, check=False)
    if proc.returncode != 0:
        return None
    return json.loads(proc.stdout)["OCIv1"]["config"].get("Labels", {}).get(LABEL)


def context(tmp_path, name):
    """A private copy of a fixture context, made unique so that no earlier image matches it."""
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    (dest / "unique.id").write_text(uuid.uuid4().hex)
    return dest


@pytest.fixture(scope="module")
def registry():
    with TlsRegistry() as reg:
        yield reg


@pytest.fixture(scope="module", autouse=True)
def _cleanup_images():
    yield
    images = json.loads(sh("buildah", "images", "--json").stdout or "[]")
    for image in images:
        for name in image.get("names") or []:
            if RUN in name:
                sh("buildah", "rmi", "-f", name, check=False)


# --------------------------------------------------------------------------------------------
def test_build_skip_rebuild_on_change_and_check_mode(tmp_path):
    ctx = context(tmp_path, "hello")
    args = {"name": f"{RUN}-hello:1", "context": str(ctx)}

    first = run_module(args, tmp_path, check=True)
    assert first["changed"] and first["action"] == "built" and first["image_id"] == ""
    assert local_label(f"localhost/{RUN}-hello:1") is None, "check mode must not build"

    built = run_module(args, tmp_path)
    assert built["changed"] and built["action"] == "built"
    assert built["build_seconds"] > 0 and "build_seconds" not in first
    assert built["input_digest"] == first["input_digest"]
    assert local_label(f"localhost/{RUN}-hello:1") == built["input_digest"]
    assert built["name"] == f"localhost/{RUN}-hello:1"

    again = run_module(args, tmp_path)
    assert not again["changed"] and again["action"] == "skipped"
    assert again["image_id"] == built["image_id"]
    assert again["digest"] == built["digest"] and built["digest"].startswith("sha256:")

    # a file the .containerignore excludes does not count
    (ctx / "notes" / "readme.md").write_text("edited notes\n")
    (ctx / "build.log").write_text("noise\n")
    assert not run_module(args, tmp_path)["changed"]

    # one changed byte in the context does
    (ctx / "data" / "one.txt").write_text("2\n")
    would = run_module(args, tmp_path, check=True)
    assert would["changed"] and would["action"] == "built"
    assert would["input_digest"] != built["input_digest"]
    assert would["diff"]["before"]["input_digest"] == built["input_digest"]
    assert local_label(f"localhost/{RUN}-hello:1") == built["input_digest"]

    rebuilt = run_module(args, tmp_path)
    assert rebuilt["action"] == "built" and rebuilt["image_id"] != built["image_id"]
    assert rebuilt["input_digest"] == would["input_digest"]

    # a build arg and a mode bit are inputs too
    assert run_module({**args, "build_args": {"UNUSED": "1"}}, tmp_path, check=True)["changed"]
    os.chmod(ctx / "greeting.txt", 0o755)
    assert run_module(args, tmp_path, check=True)["changed"]


def test_same_digest_under_another_name_is_tagged_not_built(tmp_path):
    ctx = context(tmp_path, "hello")
    run_module({"name": f"{RUN}-tag-a:1", "context": str(ctx)}, tmp_path)
    result = run_module({"name": f"{RUN}-tag-b:1", "context": str(ctx), "extra_tags": [f"{RUN}-tag-c:1"]}, tmp_path)
    assert result["action"] == "tagged" and result["actions"] == ["tagged"]
    assert local_label(f"localhost/{RUN}-tag-b:1") == result["input_digest"]
    assert local_label(f"localhost/{RUN}-tag-c:1") == result["input_digest"]
    assert not run_module({"name": f"{RUN}-tag-b:1", "context": str(ctx), "extra_tags": [f"{RUN}-tag-c:1"]}, tmp_path)["changed"]


def test_rebuilt_base_rebuilds_images_built_on_it(tmp_path):
    base_ctx = context(tmp_path, "hello")
    child_ctx = context(tmp_path, "child")
    base = {"name": f"registry.invalid/x/{RUN}-base:1", "extra_tags": [f"localhost/{RUN}-base:1"], "context": str(base_ctx)}
    child = {"name": f"{RUN}-child:1", "context": str(child_ctx), "build_args": {"BASE": f"localhost/{RUN}-base:1"}}
    assert run_module(base, tmp_path)["action"] == "built"
    first = run_module(child, tmp_path)
    assert first["action"] == "built", first
    assert not run_module(child, tmp_path)["changed"]

    (base_ctx / "greeting.txt").write_text("a new base\n")
    assert run_module(base, tmp_path)["action"] == "built"
    second = run_module(child, tmp_path)
    assert second["action"] == "built", "the child must follow its rebuilt base"
    assert second["input_digest"] != first["input_digest"]


def test_push_over_tls_skip_pull_and_docker_pull(tmp_path, registry):
    ctx = context(tmp_path, "hello")
    ref = f"{registry.url}/lab/{RUN}-push:1.0.0"
    args = {"name": ref, "context": str(ctx), "push": True, "cert_dir": str(registry.cert_dir)}

    would = run_module(args, tmp_path, check=True)
    assert would["changed"] and would["actions"] == ["built", "pushed"]
    assert registry.tags(f"lab/{RUN}-push") == [], "check mode must not push"

    pushed = run_module(args, tmp_path)
    assert pushed["actions"] == ["built", "pushed"], pushed
    assert registry.tags(f"lab/{RUN}-push") == ["1.0.0"]
    remote = json.loads(sh("skopeo", "inspect", "--cert-dir", str(registry.cert_dir), f"docker://{ref}").stdout)
    assert remote["Labels"][LABEL] == pushed["input_digest"]
    assert pushed["digest"] == remote["Digest"]

    again = run_module(args, tmp_path)
    assert not again["changed"] and again["action"] == "skipped" and again["digest"] == remote["Digest"]

    # a host without the local copy pulls it from the registry instead of building
    sh("buildah", "rmi", ref)
    pulled = run_module(args, tmp_path)
    assert pulled["action"] == "pulled" and pulled["actions"] == ["pulled"], pulled
    assert local_label(ref) == pushed["input_digest"]

    # docker trusts the registry through certs.d (per pull, no daemon restart)
    certs_d = Path("/etc/docker/certs.d") / registry.url
    made_parent = not certs_d.parent.exists()
    certs_d.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copy(registry.ca_file, certs_d / "ca.crt")
        proc = sh("docker", "pull", ref, check=False)
        assert proc.returncode == 0, proc.stderr
        labels = json.loads(sh("docker", "image", "inspect", ref).stdout)[0]["Config"]["Labels"]
        assert labels[LABEL] == pushed["input_digest"]
    finally:
        sh("docker", "image", "rm", ref, check=False)
        shutil.rmtree(certs_d, ignore_errors=True)
        if made_parent and not any(certs_d.parent.iterdir()):
            certs_d.parent.rmdir()


def test_wrong_ca_fails_with_a_clear_message(tmp_path, registry):
    ctx = context(tmp_path, "hello")
    ref = f"{registry.url}/lab/{RUN}-wrongca:1"
    result = run_module({"name": ref, "context": str(ctx), "push": True, "cert_dir": str(registry.other_ca_dir)}, tmp_path)
    assert result.get("failed"), result
    assert "x509" in result["msg"] and "cert_dir" in result["msg"], result["msg"]
    assert registry.other_ca_dir.name in result["msg"]
    assert registry.tags(f"lab/{RUN}-wrongca") == []


def test_tls_verify_false_is_passed_and_authfile_never_exposes_secrets(tmp_path, registry):
    ctx = context(tmp_path, "hello")
    authfile = tmp_path / "auth.json"
    # the test registry has no auth: it ignores the login, but the module must pass it as a file
    authfile.write_text(json.dumps({"auths": {registry.url: {"auth": "dXNlcjpzM2NyZXQ="}}}))
    ref = f"{registry.url}/lab/{RUN}-auth:1"
    result = run_module({"name": ref, "context": str(ctx), "push": True, "cert_dir": str(registry.cert_dir),
                         "authfile": str(authfile)}, tmp_path)
    assert result["actions"] == ["built", "pushed"], result
    assert "--authfile" in result["cmd"] and str(authfile) in result["cmd"]
    assert "s3cret" not in json.dumps(result) and "dXNlcjpzM2NyZXQ=" not in json.dumps(result)

    insecure = run_module({"name": f"{registry.url}/lab/{RUN}-insecure:1", "context": str(ctx), "push": True,
                           "tls_verify": False}, tmp_path)
    assert insecure["actions"] == ["tagged", "pushed"], insecure
    assert registry.tags(f"lab/{RUN}-insecure") == ["1"]


def test_archive_export_is_loadable_by_docker_and_not_rewritten(tmp_path):
    ctx = context(tmp_path, "hello")
    archive = tmp_path / "hello.tar"
    ref = f"localhost/{RUN}-archive:1"
    args = {"name": ref, "context": str(ctx), "archive": {"path": str(archive)}}
    first = run_module(args, tmp_path)
    assert first["actions"] == ["built", "exported"], first
    mtime = archive.stat().st_mtime_ns
    second = run_module(args, tmp_path)
    assert not second["changed"] and archive.stat().st_mtime_ns == mtime

    try:
        sh("docker", "load", "-i", str(archive))
        labels = json.loads(sh("docker", "image", "inspect", ref).stdout)[0]["Config"]["Labels"]
        assert labels[LABEL] == first["input_digest"]
    finally:
        sh("docker", "image", "rm", ref, check=False)

    oci = tmp_path / "hello.oci.tar"
    assert run_module({**args, "archive": {"path": str(oci), "format": "oci-archive"}}, tmp_path)["actions"] == ["exported"]

    gone = run_module({"name": ref, "archive": {"path": str(archive)}, "state": "absent"}, tmp_path)
    assert gone["changed"] and gone["action"] == "removed"
    assert not archive.exists() and local_label(ref) is None
    assert not run_module({"name": ref, "archive": {"path": str(archive)}, "state": "absent"}, tmp_path)["changed"]


def test_base_images_come_from_a_mirror_through_registries_conf(tmp_path, registry):
    # seed the "mirror" with a base image under the path a docker.io mirror would use
    base_ctx = context(tmp_path, "hello")
    mirror_ref = f"{registry.url}/mirror/library/okl-mirror-base:1"
    assert run_module({"name": mirror_ref, "context": str(base_ctx), "push": True, "cert_dir": str(registry.cert_dir)},
                      tmp_path)["actions"][-1] == "pushed"
    sh("buildah", "rmi", mirror_ref)
    conf = tmp_path / "registries.conf"
    conf.write_text(
        'unqualified-search-registries = ["docker.io"]\n'
        '[[registry]]\nprefix = "docker.io"\nlocation = "docker.io"\n'
        f'[[registry.mirror]]\nlocation = "{registry.url}/mirror"\n'
    )
    ctx = context(tmp_path, "mirror_child")
    result = run_module({"name": f"{RUN}-mirrored:1", "context": str(ctx), "registries_conf": str(conf),
                         "cert_dir": str(registry.cert_dir)}, tmp_path)
    assert result["action"] == "built", result
    sh("buildah", "rmi", "docker.io/library/okl-mirror-base:1", check=False)


def containers_on(image):
    """The IDs of buildah's working containers made from ``image``. Other builds start and end meanwhile on this
    machine (make test runs the e2e's beside), so only containers of an image this run alone has are counted."""
    listed = json.loads(sh("buildah", "containers", "--json").stdout or "null") or []
    return {c["id"] for c in listed if c["imagename"] == image}


def test_failed_build_reports_buildahs_error(tmp_path):
    base = f"localhost/{RUN}-empty:1"
    container = sh("buildah", "from", "scratch").stdout.strip()
    sh("buildah", "commit", "--quiet", container, base)
    sh("buildah", "rm", container)
    ctx = context(tmp_path, "broken")
    (ctx / "Containerfile").write_text(f"FROM {base}\nCOPY not-there.txt /\n")
    result = run_module({"name": f"{RUN}-broken:1", "context": str(ctx)}, tmp_path)
    assert not containers_on(base), "a failed build must not leave its container behind"
    assert result.get("failed")
    assert result["msg"].startswith(f"building localhost/{RUN}-broken:1 failed:")
    assert "not-there.txt" in result["msg"]
    assert result["rc"] != 0 and isinstance(result["cmd"], list)


def racing_buildah(tmp_path, error):
    """A buildah whose first ``bud`` fails with ``error`` before any step (as buildah does when another build
    removed an image while its layer-cache lookup walked the storage); every other call is the real buildah.
    Returns the wrapper and the file that counts its ``bud`` calls."""
    calls = tmp_path / "bud-calls"
    wrapper = tmp_path / "buildah"
    wrapper.write_text(f"""#!/bin/sh
if [ "$1" = bud ]; then
  echo x >>{calls}
  if [ "$(wc -l <{calls})" -eq 1 ]; then echo 'Error: {error}' >&2; exit 125; fi
fi
exec {shutil.which("buildah")} "$@"
""")
    wrapper.chmod(0o755)
    return wrapper, calls


def test_a_build_that_lost_the_layer_cache_race_runs_once_more(tmp_path):
    error = "checking if cached image exists from a previous build: getting top layer info: layer not known"
    wrapper, calls = racing_buildah(tmp_path, error)
    args = {"name": f"{RUN}-race:1", "context": str(context(tmp_path, "hello")), "buildah_path": str(wrapper)}
    result = run_module(args, tmp_path)
    assert not result.get("failed"), result
    assert result["action"] == "built" and local_label(f"localhost/{RUN}-race:1") == result["input_digest"]
    assert calls.read_text().count("x") == 2


def test_any_other_build_error_is_not_retried(tmp_path):
    wrapper, calls = racing_buildah(tmp_path, "no space left on device")
    args = {"name": f"{RUN}-norace:1", "context": str(context(tmp_path, "hello")), "buildah_path": str(wrapper)}
    result = run_module(args, tmp_path)
    assert result.get("failed") and "no space left on device" in result["msg"]
    assert calls.read_text().count("x") == 1


def test_bad_input_is_refused_before_anything_runs(tmp_path):
    ctx = context(tmp_path, "hello")
    missing = run_module({"name": f"{RUN}-x:1", "context": str(tmp_path / "nope")}, tmp_path)
    assert missing["failed"] and "is not a directory" in missing["msg"]
    no_registry = run_module({"name": f"{RUN}-x:1", "context": str(ctx), "push": True}, tmp_path)
    assert no_registry["failed"] and "needs a registry in name" in no_registry["msg"]
    bad_cf = run_module({"name": f"{RUN}-x:1", "context": str(ctx), "containerfile": "Nope"}, tmp_path)
    assert bad_cf["failed"] and "does not exist" in bad_cf["msg"]
    bad_bin = run_module({"name": f"{RUN}-x:1", "context": str(ctx), "buildah_path": "/nonexistent/buildah"}, tmp_path)
    assert bad_bin["failed"] and "buildah_path" in bad_bin["msg"]
    bad_name = run_module({"name": "Upper/Case:1", "context": str(ctx)}, tmp_path)
    assert bad_name["failed"] and "not a valid image reference" in bad_name["msg"]


DEBIAN = "localhost/okl-debian:bookworm-systemd"


@pytest.fixture()
def debian_base():
    """RUN steps need a real rootfs: the test bed's Debian image, copied into buildah storage once."""
    if sh("docker", "image", "inspect", DEBIAN, check=False).returncode != 0:
        pytest.skip("the test bed's Debian image is missing (tests/bed/setup.sh)")
    if sh("buildah", "inspect", "--type", "image", DEBIAN, check=False).returncode != 0:
        sh("buildah", "pull", f"docker-daemon:{DEBIAN}")
    return DEBIAN


@pytest.mark.usefixtures("debian_base")
def test_run_steps_build_on_the_debian_base(tmp_path):
    ctx = context(tmp_path, "debian_run")
    args = {"name": f"{RUN}-debian:1", "context": str(ctx), "build_args": {"GREETING": "hello"}}
    assert run_module(args, tmp_path)["action"] == "built"
    assert not run_module(args, tmp_path)["changed"]
    out = sh("buildah", "from", "--name", f"{RUN}-ctr", f"localhost/{RUN}-debian:1").stdout
    try:
        assert sh("buildah", "run", f"{RUN}-ctr", "cat", "/greeting").stdout.strip() == "hello", out
    finally:
        sh("buildah", "rm", f"{RUN}-ctr", check=False)


def test_images_option_checks_many_images_in_one_run(tmp_path, registry):
    one, two = context(tmp_path, "hello"), context(tmp_path / "b", "hello")
    shared = {"push": True, "cert_dir": str(registry.cert_dir)}
    images = [{"name": f"{registry.url}/lab/{RUN}-many-1:1", "context": str(one)},
              {"name": f"{registry.url}/lab/{RUN}-many-2:1", "context": str(two), "extra_tags": [f"{RUN}-many-2:1"]}]
    plan = run_module({**shared, "images": images}, tmp_path, check=True)
    assert plan["changed"] and [r["actions"] for r in plan["images"]] == [["built", "pushed"], ["built", "pushed"]]
    done = run_module({**shared, "images": images}, tmp_path)
    assert [r["action"] for r in done["images"]] == ["built", "built"]
    assert registry.tags(f"lab/{RUN}-many-1") == ["1"] and registry.tags(f"lab/{RUN}-many-2") == ["1"]
    again = run_module({**shared, "images": images}, tmp_path, check=True)
    assert not again["changed"] and [r["action"] for r in again["images"]] == ["skipped", "skipped"]

    broken = [images[0], {"name": f"{RUN}-many-bad:1", "context": str(tmp_path / "missing")}]
    failed = run_module({"images": broken}, tmp_path)
    assert failed["failed"] and failed["msg"].startswith(f"{RUN}-many-bad:1: context ")
    assert run_module({"name": "x:1", "images": images}, tmp_path)["failed"]


def test_inputs_rebuild_only_the_image_whose_copied_files_changed(tmp_path):
    # two images from one shared context (as OpenKasugai's controllers build from src/), each
    # copying its own directory and one shared file; Containerfiles generated (containerfile_content)
    ctx = tmp_path / "shared"
    for rel, text in {"a/main.txt": "a", "b/main.txt": "b", "common/types.txt": "t", "unique.id": uuid.uuid4().hex}.items():
        (ctx / rel).parent.mkdir(parents=True, exist_ok=True)
        (ctx / rel).write_text(text)
    (tmp_path / "gen").mkdir()

    def image(name):
        return {"name": f"{RUN}-inputs-{name}:1", "context": str(ctx), "containerfile": str(tmp_path / "gen" / f"{name}.Containerfile"),
                "containerfile_content": f"FROM scratch\nCOPY {name}/ /{name}/\nCOPY common/types.txt unique.id /\n",
                "inputs": [f"{name}/", "common/types.txt", "unique.id"]}

    plan = run_module({"images": [image("a"), image("b")]}, tmp_path, check=True)
    assert [r["action"] for r in plan["images"]] == ["built", "built"]
    assert not (tmp_path / "gen" / "a.Containerfile").exists(), "check mode must not write the Containerfile"
    built = run_module({"images": [image("a"), image("b")]}, tmp_path)
    assert [r["action"] for r in built["images"]] == ["built", "built"]
    assert (tmp_path / "gen" / "a.Containerfile").read_text().startswith("FROM scratch")
    assert not run_module({"images": [image("a"), image("b")]}, tmp_path)["changed"]

    (ctx / "b" / "main.txt").write_text("b changed")
    again = run_module({"images": [image("a"), image("b")]}, tmp_path)
    assert [r["action"] for r in again["images"]] == ["skipped", "built"]
    (ctx / "common" / "types.txt").write_text("t changed")
    again = run_module({"images": [image("a"), image("b")]}, tmp_path)
    assert [r["action"] for r in again["images"]] == ["built", "built"]

    bad = run_module({**image("a"), "inputs": ["missing/"]}, tmp_path)
    assert bad["failed"] and "inputs: missing/ does not exist" in bad["msg"]
    no_path = run_module({**image("a"), "containerfile": None}, tmp_path)
    assert no_path["failed"] and "containerfile_content needs containerfile" in no_path["msg"]


def test_base_image_from_a_local_archive(tmp_path):
    base = {"name": f"{RUN}-lbase:1", "context": str(context(tmp_path, "hello")),
            "archive": {"path": str(tmp_path / "base.tar")}}
    assert run_module(base, tmp_path)["action"] == "built"
    sh("buildah", "rmi", f"localhost/{RUN}-lbase:1")
    qualified = f"docker.io/library/{RUN}-lbase:1"
    child_ctx = tmp_path / "child"
    child_ctx.mkdir()
    (child_ctx / "child.txt").write_text("child\n")
    (child_ctx / "Containerfile").write_text(f"FROM {qualified}\nCOPY child.txt /\n")
    child = {"name": f"{RUN}-lchild:1", "context": str(child_ctx),
             "base_images": {f"{RUN}-lbase:1": f"docker-archive:{tmp_path / 'base.tar'}"}}  # a short key is normalised

    would = run_module(child, tmp_path, check=True)
    assert would["changed"] and "base_imported" in would["actions"] and "built" in would["actions"]
    assert sh("buildah", "inspect", "--type", "image", qualified, check=False).returncode != 0, "check mode imports nothing"
    first = run_module(child, tmp_path)
    assert set(first["actions"]) == {"built", "base_imported"}, first
    assert sh("buildah", "inspect", "--type", "image", qualified, check=False).returncode == 0
    assert not run_module(child, tmp_path)["changed"], "the same archive again changes nothing"

    # another base in the archive: the child is rebuilt on it
    (Path(base["context"]) / "greeting.txt").write_text("another base\n")
    assert run_module(base, tmp_path)["action"] == "built"
    second = run_module(child, tmp_path)
    assert "base_imported" in second["actions"] and "built" in second["actions"]
    assert second["input_digest"] != first["input_digest"]
    sh("buildah", "rmi", "-f", qualified, check=False)

    missing = run_module({**child, "base_images": {qualified: "docker-archive:/nonexistent/base.tar"}}, tmp_path)
    assert missing["failed"] and "no such file" in missing["msg"]
    # check mode on a fresh host: the base is made by an earlier step of the same run (a base built from
    # source, an archive written): reported as to be imported and built, not refused
    planned = run_module({**child, "base_images": {qualified: "containers-storage:localhost/not-built-yet:1"}}, tmp_path, check=True)
    assert not planned.get("failed"), planned
    assert {"base_imported", "built"} <= set(planned["actions"])


def test_volumes_reach_run_steps_and_are_not_inputs(tmp_path, debian_base):
    ctx = context(tmp_path, "hello")
    cache = tmp_path / "cache"   # created by the module
    args = {"name": f"{RUN}-vol:1", "context": str(ctx), "containerfile": str(tmp_path / "Containerfile"),
            "containerfile_content": f"FROM {debian_base}\nCOPY unique.id /\nRUN cp /unique.id /cache/seen\n"}
    plain = run_module(args, tmp_path, check=True)
    built = run_module({**args, "volumes": [f"{cache}:/cache"]}, tmp_path)
    assert built["action"] == "built", built
    assert built["input_digest"] == plain["input_digest"], "a cache volume is not an input"
    assert (cache / "seen").read_text() == (ctx / "unique.id").read_text()
    bad = run_module({**args, "volumes": ["relative:/cache"]}, tmp_path)
    assert bad["failed"] and "absolute host directory" in bad["msg"]


def test_a_nameless_builder_stage_never_stands_in_for_the_final_image(tmp_path):
    # buildah labels every stage of a multi-stage build with the input digest; when the final image
    # has lost its name, the intermediate builder stage (same label, no name) must not be tagged
    ctx = context(tmp_path, "hello")
    (ctx / "Containerfile").write_text("FROM scratch AS builder\nCOPY greeting.txt /built\n"
                                       "FROM scratch\nCOPY --from=builder /built /final\nCOPY unique.id /\nLABEL stage=final\n")
    args = {"name": f"{RUN}-stages:1", "context": str(ctx)}
    assert run_module(args, tmp_path)["action"] == "built"
    sh("buildah", "rmi", f"localhost/{RUN}-stages:1")
    again = run_module(args, tmp_path)
    assert again["action"] == "built", again
    labels = json.loads(sh("buildah", "inspect", "--type", "image", f"localhost/{RUN}-stages:1").stdout)["OCIv1"]["config"]["Labels"]
    assert labels.get("stage") == "final"

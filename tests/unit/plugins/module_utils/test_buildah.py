"""Unit tests of plugins/module_utils/buildah.py's pure functions.

Real: files on disk (tmp_path) for the input digest and ignore rules. Fake: nothing; no CLI is
run here (tests/unit/plugins/modules/test_buildah_image.py drives the real buildah).
"""

from __future__ import annotations

import os

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils import buildah as b


# -- references -------------------------------------------------------------------------------
@pytest.mark.parametrize(("ref", "expected"), [
    ("cpufunc_sidecar", "localhost/cpufunc_sidecar:latest"),
    ("cpufunc_sidecar:1.0", "localhost/cpufunc_sidecar:1.0"),
    ("localhost/rcv_video_tool:1.0.0", "localhost/rcv_video_tool:1.0.0"),
    ("harbor.example.com/openkasugai/gpufunc_dsa", "harbor.example.com/openkasugai/gpufunc_dsa:latest"),
    ("localhost:5000/p/x:2", "localhost:5000/p/x:2"),
    ("library/ubuntu:24.04", "localhost/library/ubuntu:24.04"),
])
def test_normalize_reference(ref, expected):
    assert b.normalize_reference(ref) == expected


def test_normalize_reference_rejects_upper_case():
    with pytest.raises(ValueError, match="not a valid image reference"):
        b.normalize_reference("Harbor/Upper:1")


def test_registry_of():
    assert b.registry_of("localhost:5000/p/x:2") == "localhost:5000"
    assert b.registry_of("harbor.example.com/p/x:2") == "harbor.example.com"
    assert b.registry_of("x:2") is None


# -- ignore files -----------------------------------------------------------------------------
@pytest.mark.parametrize(("patterns", "path", "ignored"), [
    ("*.log", "build.log", True),
    ("*.log", "sub/build.log", False),           # docker: * does not cross directories
    ("**/*.log", "sub/deeper/build.log", True),
    ("notes/", "notes/readme.md", True),          # a matching directory excludes its contents
    ("notes", "notes/a/b.txt", True),
    ("/build", "build/out.o", True),              # leading slash is the context root
    ("*.md\n!README.md", "README.md", False),     # last match wins
    ("*.md\n!README.md", "other.md", True),
    ("docs\n!docs/keep.txt", "docs/keep.txt", False),
    ("# comment\n\n  ", "anything", False),
    ("file?.txt", "file1.txt", True),
    ("file[0-9].txt", "filex.txt", False),
])
def test_ignore_rules(patterns, path, ignored):
    assert b.is_ignored(path, b.parse_ignore(patterns)) is ignored


# -- Containerfile ----------------------------------------------------------------------------
def test_base_images_multi_stage_args_and_copy_from():
    text = (
        "# syntax comment\n"
        "ARG GO=1.22\n"
        "ARG BASE\n"
        "FROM golang:${GO} as builder\n"
        "RUN go build \\\n"
        "    -o /x .\n"
        "FROM --platform=linux/amd64 ${BASE:-ubuntu:24.04}\n"
        "COPY --from=builder /x /x\n"
        "COPY --from=localhost/tools:1 /bin/t /t\n"
        "FROM scratch AS final\n"
        "COPY --from=1 /x /x\n"
    )
    assert b.base_images(text) == ["golang:1.22", "ubuntu:24.04", "localhost/tools:1"]
    assert b.base_images(text, {"GO": "1.23", "BASE": "mirror/ubuntu:22.04"}) == \
        ["golang:1.23", "mirror/ubuntu:22.04", "localhost/tools:1"]


def test_find_containerfile(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    assert b.find_containerfile(str(tmp_path)) == str(tmp_path / "Dockerfile")
    (tmp_path / "Containerfile").write_text("FROM scratch\n")
    assert b.find_containerfile(str(tmp_path)) == str(tmp_path / "Containerfile")
    assert b.find_containerfile(str(tmp_path), "build/Dockerfile") == str(tmp_path / "build" / "Dockerfile")
    assert b.find_containerfile(str(tmp_path), "/abs/Dockerfile") == "/abs/Dockerfile"


# -- input digest -----------------------------------------------------------------------------
@pytest.fixture
def ctx(tmp_path):
    root = tmp_path / "ctx"
    (root / "src").mkdir(parents=True)
    (root / "Containerfile").write_text("FROM scratch\nCOPY . /\n")
    (root / "src" / "main.go").write_text("package main\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / ".dockerignore").write_text("tmp/\n")
    return root


def digest(root, **kw):
    return b.input_digest(str(root), str(root / "Containerfile"), **kw)


def test_digest_is_stable_and_ignores_timestamps(ctx):
    first = digest(ctx)
    assert first.startswith("sha256:") and len(first) == 71
    os.utime(ctx / "src" / "main.go", (1, 1))
    assert digest(ctx) == first


def test_digest_follows_every_input(ctx):
    base = digest(ctx)
    seen = {base}

    def changed(**kw):
        value = digest(ctx, **kw)
        assert value not in seen
        seen.add(value)

    changed(build_args={"A": "1"})
    changed(build_args={"A": "2"})
    changed(target="builder")
    changed(bases={"localhost/rcv_video_tool:1.0.0": "sha256:aaa"})
    changed(bases={"localhost/rcv_video_tool:1.0.0": "sha256:bbb"})
    (ctx / "src" / "main.go").write_text("package main // edited\n")
    changed()
    os.chmod(ctx / "run.sh", 0o755)
    changed()
    (ctx / "src" / "new.txt").write_text("")
    changed()
    (ctx / "empty").mkdir()
    changed()
    os.symlink("src/main.go", ctx / "link")
    changed()
    (ctx / "Containerfile").write_text("FROM scratch\nCOPY . /app/\n")
    changed()


def test_digest_respects_ignore_file_and_prefers_containerignore(ctx):
    base = digest(ctx)
    (ctx / "tmp").mkdir()
    (ctx / "tmp" / "scratch.bin").write_bytes(b"\0" * 10)
    assert digest(ctx) == base
    # .containerignore wins over .dockerignore, as in buildah: tmp/ counts again
    (ctx / ".containerignore").write_text("*.none\n")
    assert digest(ctx) != base


def test_containerfile_outside_the_context_counts(tmp_path, ctx):
    outside = tmp_path / "Containerfile.outside"
    outside.write_text("FROM scratch\n")
    one = b.input_digest(str(ctx), str(outside))
    outside.write_text("FROM scratch\nLABEL x=1\n")
    assert b.input_digest(str(ctx), str(outside)) != one


def test_labels_of_inspect_reads_buildah_and_skopeo_shapes():
    assert b.labels_of_inspect({"Labels": {"a": "1"}}) == {"a": "1"}
    assert b.labels_of_inspect({"OCIv1": {"config": {"Labels": {"b": "2"}}}}) == {"b": "2"}
    assert b.labels_of_inspect({"OCIv1": {"config": {}}, "Docker": {"config": {"Labels": {"c": "3"}}}}) == {"c": "3"}
    assert b.labels_of_inspect(None) == {}


# -- docker references and local base sources --------------------------------------------------
@pytest.mark.parametrize(("ref", "expected"), [
    ("golang:1.23", "docker.io/library/golang:1.23"),
    ("golang", "docker.io/library/golang:latest"),
    ("docker.io/library/golang:1.23", "docker.io/library/golang:1.23"),
    ("docker.io/nvidia/cuda:12", "docker.io/nvidia/cuda:12"),
    ("gcr.io/distroless/static:nonroot", "gcr.io/distroless/static:nonroot"),
    ("localhost/rcv_video_tool:1.0.0", "localhost/rcv_video_tool:1.0.0"),
    ("ubuntu@sha256:abc", "docker.io/library/ubuntu@sha256:abc"),
])
def test_docker_reference(ref, expected):
    assert b.docker_reference(ref) == expected


# -- digest inputs: the parts of a shared context one image copies ------------------------------
def _tree(root, files):
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_inputs_limit_the_digest_to_the_copied_paths(tmp_path):
    _tree(tmp_path, {"A/go.mod": "module a", "A/api/v1/t.go": "package v1", "B/api/v1/shared.go": "package v1",
                     "B/cmd/main.go": "package main", "Containerfile": "FROM scratch\n"})
    containerfile = str(tmp_path / "Containerfile")
    inputs = ["A/go.mod", "A/api", "B/api/v1/shared.go"]
    before = b.input_digest(str(tmp_path), containerfile, inputs=inputs)
    # a file of the context that the image does not copy: same digest
    (tmp_path / "B/cmd/main.go").write_text("package main // changed")
    assert b.input_digest(str(tmp_path), containerfile, inputs=inputs) == before
    # a copied file changes: another digest
    (tmp_path / "B/api/v1/shared.go").write_text("package v1 // changed")
    assert b.input_digest(str(tmp_path), containerfile, inputs=inputs) != before


def test_inputs_are_part_of_the_digest_and_normalised(tmp_path):
    _tree(tmp_path, {"A/x": "1", "A/y": "2", "Containerfile": "FROM scratch\n"})
    containerfile = str(tmp_path / "Containerfile")
    assert (b.input_digest(str(tmp_path), containerfile, inputs=["./A/x", "A/x/"])
            == b.input_digest(str(tmp_path), containerfile, inputs=["A/x"]))
    assert b.input_digest(str(tmp_path), containerfile, inputs=["A/x"]) != b.input_digest(str(tmp_path), containerfile, inputs=["A"])
    # "." is the whole context, as without inputs
    assert b.input_digest(str(tmp_path), containerfile, inputs=["."]) == b.input_digest(str(tmp_path), containerfile)


def test_inputs_entries_cover_the_directories_leading_to_them(tmp_path):
    _tree(tmp_path, {"A/api/v1/t.go": "x", "A/other.go": "y", "C/z": "z"})
    rels = [entry[0] for entry in b.context_entries(str(tmp_path), ["A/api"])]
    assert rels == ["A", "A/api", "A/api/v1", "A/api/v1/t.go"]


@pytest.mark.parametrize("bad", ["/etc/passwd", "../outside", "A/../../x"])
def test_inputs_must_stay_inside_the_context(bad):
    with pytest.raises(ValueError, match="inside the build context"):
        b.normalize_inputs([bad])

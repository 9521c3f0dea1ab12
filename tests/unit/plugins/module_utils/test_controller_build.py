"""Unit tests of plugins/module_utils/controller_build.py.

The Dockerfiles below are OpenKasugai v1.1.0's own (src/CPUFunction/Dockerfile and
src/EthernetConnection/Dockerfile at 445aa901, comments shortened); nothing is faked.
"""

from __future__ import annotations

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.controller_build import RecipeError, controller_recipe

CPUFUNCTION = """\
# Build the manager binary
FROM golang:1.23 as builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# Copy the Go Modules manifests
COPY CPUFunction/go.mod go.mod
COPY CPUFunction/go.sum go.sum
RUN go mod download

# Copy the go source
COPY CPUFunction/cmd/main.go cmd/main.go
COPY CPUFunction/api/ api/
COPY CPUFunction/internal/controller/ internal/controller/
COPY WBFunction/api/v1/function_common_types.go api/v1/
COPY whitebox-k8s-flowctrl/api/v1/common_types.go api/v1/

RUN go fmt ./...
RUN go vet ./...
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -a -o manager cmd/main.go

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
"""

ETHERNETCONNECTION = """\
FROM golang:1.23 as builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
COPY EthernetConnection/go.mod go.mod
COPY EthernetConnection/go.sum go.sum
RUN go mod download

COPY EthernetConnection/cmd/main.go cmd/main.go
COPY EthernetConnection/api/ api/
COPY EthernetConnection/internal/controller/ internal/controller/
COPY whitebox-k8s-flowctrl/api/v1/common_types.go api/v1/
COPY WBFunction/api/v1/function_common_types.go api/v1/
COPY FPGAFunction/api/v1/childbs_types.go api/v1/
COPY FPGAFunction/api/v1/fpga_types.go api/v1/

# Copy openkasugai-hardware-drivers and build pkg
COPY EthernetConnection/openkasugai-hardware-drivers/ openkasugai-hardware-drivers/
WORKDIR /workspace/openkasugai-hardware-drivers
RUN apt-get update \\
    && apt-get install -y build-essential \\
        python3-pip pkg-config libnuma-dev vim
RUN pip3 install --break-system-packages meson ninja pyelftools
WORKDIR /workspace/openkasugai-hardware-drivers/lib/DPDK/
RUN wget http://fast.dpdk.org/rel/dpdk-23.11.1.tar.xz \\
    && tar Jxvf dpdk-23.11.1.tar.xz
RUN bash build_dpdk.sh
RUN apt-get update \\
    && apt-get install -y libpciaccess-dev
WORKDIR /workspace/openkasugai-hardware-drivers/lib
Run make mcap
Run make json
Run make
WORKDIR /workspace
RUN mkdir /usr/local/include/fpgalib; mkdir /usr/local/lib/fpgalib \\
    && cp -a openkasugai-hardware-drivers/lib/libfpga/include/*.h /usr/local/include/fpgalib/. \\
    && ln -s /workspace/openkasugai-hardware-drivers/lib/DPDK/dpdk /usr/local/include/fpgalib/dpdk
ARG PKG_CONFIG_PATH

ENV CGO_CFLAGS_ALLOW=-mrtm
RUN go fmt ./...
RUN go vet ./...
RUN CGO_ENABLED=1 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -a -o manager cmd/main.go

USER 65532:65532
ENV LD_LIBRARY_PATH "/workspace/openkasugai-hardware-drivers/lib/DPDK/dpdk/lib/x86_64-linux-gnu/"
ENV XILINX_XRT /opt/xilinx/xrt
ENV PATH /opt/xilinx/xrt/bin:$PATH

ENTRYPOINT ["/workspace/manager"]
"""


def test_pure_go_controller():
    recipe = controller_recipe(CPUFUNCTION, "CPUFunction")
    assert recipe["builder_base"] == "golang:1.23"
    assert recipe["workdir"] == "/workspace"
    assert recipe["cgo"] is False and recipe["hardware_drivers"] is False
    assert recipe["inputs"] == ["CPUFunction/api", "CPUFunction/cmd/main.go", "CPUFunction/go.mod", "CPUFunction/go.sum",
                                "CPUFunction/internal/controller", "WBFunction/api/v1/function_common_types.go",
                                "whitebox-k8s-flowctrl/api/v1/common_types.go"]
    runs = [s["run"] for s in recipe["steps"] if "run" in s]
    # fmt and vet dropped, -a dropped, everything else verbatim and in order
    assert runs == ["go mod download", "CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -o manager cmd/main.go"]
    assert [s["arg"] for s in recipe["steps"] if "arg" in s] == ["TARGETOS", "TARGETARCH"]
    copies = [(s["src"], s["dest"], s["dir"]) for s in recipe["steps"] if "src" in s]
    assert copies[3] == (["CPUFunction/api/"], "api/", True)
    assert copies[5] == (["WBFunction/api/v1/function_common_types.go"], "api/v1/", False)
    # runtime: distroless, binary at /manager, as upstream
    assert recipe["runtime_base"] == "gcr.io/distroless/static:nonroot"
    assert recipe["output"] == "/workspace/manager"
    assert recipe["binary"] == "/manager"
    assert recipe["user"] == "65532:65532"
    assert recipe["entrypoint"] == ["/manager"]


def test_cgo_controller_with_hardware_drivers():
    recipe = controller_recipe(ETHERNETCONNECTION, "EthernetConnection")
    assert recipe["cgo"] is True and recipe["hardware_drivers"] is True
    # the submodule is not an input of the controller's own digest (the libfpga image carries it)
    assert not [i for i in recipe["inputs"] if "hardware-drivers" in i]
    assert "FPGAFunction/api/v1/fpga_types.go" in recipe["inputs"]
    runs = [s["run"] for s in recipe["steps"] if "run" in s]
    # apt, pip, the DPDK download and build, make and the fpgalib install are the libfpga image's
    assert runs == ["go mod download", "CGO_ENABLED=1 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -o manager cmd/main.go"]
    assert "PKG_CONFIG_PATH" in [s["arg"] for s in recipe["steps"] if "arg" in s]
    # upstream runs the builder image: no final stage; the binary stays where it was built
    assert recipe["runtime_base"] is None
    assert recipe["binary"] == "/workspace/manager"
    assert recipe["entrypoint"] == ["/workspace/manager"]
    assert recipe["user"] == "65532:65532"
    # its own DPDK's library path and Xilinx XRT's are dropped; the cgo flag allowance is kept
    assert recipe["env"] == {"CGO_CFLAGS_ALLOW": "-mrtm"}


def test_shell_form_entrypoint_and_default_cgo():
    text = "FROM golang:1.23 AS b\nWORKDIR /w\nCOPY . .\nRUN go build -o /out/app .\nFROM scratch\nCOPY --from=b /out/app /app\nENTRYPOINT /app -v\n"
    recipe = controller_recipe(text)
    assert recipe["cgo"] is True          # CGO_ENABLED not set: Go's default with a C compiler
    assert recipe["output"] == "/out/app"
    assert recipe["binary"] == "/app"
    assert recipe["entrypoint"] == ["/bin/sh", "-c", "/app -v"]
    assert recipe["inputs"] == ["."]


@pytest.mark.parametrize(("text", "message"), [
    ("", "no FROM"),
    ("RUN true\nFROM golang:1.23\n", "RUN before the first FROM"),
    ("FROM golang:1.23\nCOPY a b\n", "runs no go build"),
    ("FROM golang:1.23\nCOPY --from=x /a b\nRUN go build .\n", "COPY --from in the builder stage"),
])
def test_refusals_name_the_controller(text, message):
    with pytest.raises(RecipeError, match=message) as err:
        controller_recipe(text, "X")
    assert str(err.value).startswith("X/Dockerfile: ")

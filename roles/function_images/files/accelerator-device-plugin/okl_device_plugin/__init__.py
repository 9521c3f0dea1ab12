# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Accelerator device plugin for kubelet (device plugin API v1beta1): accelerators with identifiers.

Each pool of accelerators (FPGAs found through the kernel's FPGA classes and DFL bus, and PCI
functions picked by vendor/device/class) is one extended resource. Device IDs are PCI addresses;
a container given some receives their addresses, comma-separated, in environment variables and
their device nodes, and nothing of the others.
"""

__version__ = '0.1.0'

# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Time accelerator_info's discovery on a fake sysfs of 1,000 PCI functions (512 of them VFs).

Fake tree (tests/unit/fakesys.py): 8 ConnectX-5 PFs with 64 VFs each (512 VFs with netdevs),
8 NVIDIA GPUs, 4 Intel FPGAs, the rest host bridges and NVMe drives spread over two PCI
domains. Prints the time of discover_accelerators(), the code the module runs; target < 1 s.
Never asserts on time.
Run by tests/bench/run.sh, whose PYTHONPATH makes the collection and its test helpers importable.
"""

import tempfile
import time

from ansible_collections.openkasugai.all_in_one.plugins.module_utils.sysfs import discover_accelerators
from ansible_collections.openkasugai.all_in_one.tests.unit.fakesys import FakeSys


def build(root):
    fake = FakeSys(root)
    count = 0
    for i in range(8):
        fake.add_connectx5_pf(f'0000:{0x3b + i:02x}:00.0', f'ens{i}f0', totalvfs=64, numvfs=64)
        count += 65
    for i in range(8):
        fake.add_nvidia_gpu(f'0000:{0x86 + i:02x}:00.0', minor=i)
        count += 1
    for i in range(4):
        fake.add_intel_fpga(f'0000:{0xd8 + i:02x}:00.0', region=i)
        count += 1
    i = 0
    while count < 1000:
        domain = '0000' if i % 2 else '10000'
        fake.add_pci(f'{domain}:{0xe0 + (i // 256) % 16:02x}:{(i // 8) % 32:02x}.{i % 8}', '0x144d', '0xa808', '0x010802', driver='nvme')
        i += 1
        count += 1
    return count


def main():
    with tempfile.TemporaryDirectory() as root:
        start = time.monotonic()
        functions = build(root)
        built = time.monotonic() - start
        runs = []
        for _round in range(5):
            start = time.monotonic()
            result = discover_accelerators(root, root, root)
            runs.append(time.monotonic() - start)
        vfs = sum(len(nic['vfs']) for nic in result['nics'])
        print(f'accelerator_info discovery: {functions} PCI functions ({vfs} VFs), '
              f"{len(result['gpus'])} GPUs, {len(result['nics'])} NICs, {len(result['fpgas'])} FPGAs")
        print(f'  tree built in {built:.2f} s; discovery best {min(runs):.3f} s, worst {max(runs):.3f} s over {len(runs)} runs (target < 1 s)')


if __name__ == '__main__':
    main()

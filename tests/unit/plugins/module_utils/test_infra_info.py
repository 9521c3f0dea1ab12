# Copyright: OpenKasugai all-in-one maintainers
# Apache License 2.0 (see https://www.apache.org/licenses/LICENSE-2.0)
"""Unit tests of plugins/module_utils/infra_info.py.

Real: every function of infra_info.py; this machine's /proc/cpuinfo (embedded verbatim below and also
read live, and compared with what InfoCollector's own shell commands make of it); upstream's
devicetypemap.json and region-unique-info.json (OpenKasugai controller v1.1.0,
test/sample-data/sample-data-common/json/, embedded verbatim and compared with the mirrored source
tarball when it is there); the consumers, when a Go toolchain is installed: CONSUMERS_GO is
InfoCollector's ConfigMap types and DeviceInfo's and WBFunction's readers copied from v1.1.0 and run
with Go's encoding/json on what this module writes.
Samples written here: the Xeon, Raspberry Pi and aarch64 cpuinfo texts (the kernel's format, abbreviated
as the docstrings say), the node names (kind's, as the lab names them) and the GPU UUIDs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile

import pytest
from ansible_collections.openkasugai.all_in_one.plugins.module_utils.infra_info import (
    InfraInfoError,
    configmap,
    go_json,
    gpu_device_type,
    infra_info,
    parse_cpuinfo,
    parse_nvidia_smi,
)

MIRROR_TARBALL = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', '..', 'shared', 'mirror', 'src',
                              'openkasugai-controller-v1.1.0.tar.gz')


# ---------------------------------------------------------------- upstream's tables, verbatim

DEVICETYPEMAP_JSON = """[{
  "inputDeviceType": "ALVEO U250 PQ",
  "outputDeviceType": "alveou250"
},{
  "inputDeviceType": "Tesla T4",
  "outputDeviceType": "t4"
},{
  "inputDeviceType": "NVIDIA A100 80GB PCIe",
  "outputDeviceType": "a100"
},{
  "inputDeviceType": "Intel(R) Xeon(R) Gold 6346 CPU @ 3.10GHz",
  "outputDeviceType": "cpu"
},{
  "inputDeviceType": "Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz",
  "outputDeviceType": "cpu"
},{
  "inputDeviceType": "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz",
  "outputDeviceType": "cpu"
}]
"""

REGION_UNIQUE_INFO_JSON = """[{
  "subDeviceSpecRef": "0100001c",
  "functionTargets":[{
    "regionName": "lane0",
    "regionType": "alveou250-0100001c-2lanes-0nics",
    "maxFunctions": 1,
    "maxCapacity": 40
  },{
    "regionName": "lane1",
    "regionType": "alveou250-0100001c-2lanes-0nics",
    "maxFunctions": 1,
    "maxCapacity": 40
  }]
},{
  "subDeviceSpecRef": "fffffff0",
  "functionTargets":[{
    "regionName": "lane0",
    "regionType": "alveou250-0100001c-2lanes-0nics"
  },{
    "regionName": "lane1",
    "regionType": "alveou250-0100001c-2lanes-0nics"
  }]
},{
  "subDeviceSpecRef": "Tesla T4",
  "functionTargets":[{
    "regionName": "t4",
    "regionType": "t4",
    "maxFunctions": 110,
    "maxCapacity": 40
  }]
},{
  "subDeviceSpecRef": "NVIDIA A100 80GB PCIe",
  "functionTargets":[{
    "regionName": "a100",
    "regionType": "a100",
    "maxFunctions": 110,
    "maxCapacity": 120
  }]
},{
  "subDeviceSpecRef": "Intel(R) Xeon(R) Gold 6346 CPU @ 3.10GHz",
  "functionTargets":[{
    "regionName": "cpu",
    "regionType": "cpu",
    "maxFunctions": 110,
    "maxCapacity": 120
  }]
},{
  "subDeviceSpecRef": "Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz",
  "functionTargets":[{
    "regionName": "cpu",
    "regionType": "cpu",
    "maxFunctions": 110,
    "maxCapacity": 120
  }]
},{
  "subDeviceSpecRef": "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz",
  "functionTargets":[{
    "regionName": "cpu",
    "regionType": "cpu",
    "maxFunctions": 110,
    "maxCapacity": 120
  }]
}]"""

DEVICE_TYPE_MAP = json.loads(DEVICETYPEMAP_JSON)
REGION_TABLE = json.loads(REGION_UNIQUE_INFO_JSON)

# ---------------------------------------------------------------- cpuinfo texts

# This machine's /proc/cpuinfo (a KVM guest on an AMD EPYC host: 2 vCPUs, one socket), verbatim;
# its two processor blocks differ only in processor, core id and (initial) apicid.
EPYC_FLAGS = (
    'fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall '
    'nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid extd_apicid '
    'tsc_known_freq pni pclmulqdq ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes '
    'xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm sse4a misalignsse 3dnowprefetch osvw '
    'topoext vmmcall fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap '
    'avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves avx512_bf16 clzero '
    'xsaveerptr arat avx512vbmi umip avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg avx512_vpopcntdq '
    'rdpid fsrm '
)
_EPYC_BLOCK = """\
processor\t: {n}
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
stepping\t: 1
microcode\t: 0x1000065
cpu MHz\t\t: 2596.134
cache size\t: 1024 KB
physical id\t: 0
siblings\t: 2
core id\t\t: {n}
cpu cores\t: 2
apicid\t\t: {n}
initial apicid\t: {n}
fpu\t\t: yes
fpu_exception\t: yes
cpuid level\t: 28
wp\t\t: yes
flags\t\t: {flags}
bugs\t\t: sysret_ss_attrs null_seg spectre_v1 spectre_v2 spec_store_bypass srso spectre_v2_user
bogomips\t: 5192.26
TLB size\t: 3584 4K pages
clflush size\t: 64
cache_alignment\t: 64
address sizes\t: 48 bits physical, 48 bits virtual
power management:
"""
EPYC_CPUINFO = '\n'.join(_EPYC_BLOCK.replace('{n}', str(n)).replace('{flags}', EPYC_FLAGS.strip()) for n in range(2)) + '\n'

# A 2-socket Xeon Gold 6346 (Ice Lake-SP, 16 cores and 32 threads per socket): processors 0, 1 (socket 0) and 32, 33
# (socket 1) of its 64, in the kernel's format, with the flags line shortened.
_XEON_BLOCK = """\
processor\t: {n}
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 106
model name\t: Intel(R) Xeon(R) Gold 6346 CPU @ 3.10GHz
stepping\t: 6
microcode\t: 0xd0003a5
cpu MHz\t\t: 3100.000
cache size\t: 36864 KB
physical id\t: {socket}
siblings\t: 32
core id\t\t: {core}
cpu cores\t: 16
apicid\t\t: {apic}
initial apicid\t: {apic}
fpu\t\t: yes
fpu_exception\t: yes
cpuid level\t: 27
wp\t\t: yes
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe
bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs mmio_stale_data eibrs_pbrsb gds bhi
bogomips\t: 6200.00
clflush size\t: 64
cache_alignment\t: 64
address sizes\t: 46 bits physical, 57 bits virtual
power management:
"""
XEON_CPUINFO = '\n'.join(_XEON_BLOCK.format(n=n, socket=s, core=c, apic=a)
                         for n, s, c, a in ((0, 0, 0, 0), (1, 0, 1, 2), (32, 1, 0, 64), (33, 1, 1, 66))) + '\n'

# A Raspberry Pi 3 on a 32-bit (armv7l) kernel: a model name, no physical id; two of its four processors.
RPI3_CPUINFO = """\
processor\t: 0
model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer\t: 0x41
CPU architecture: 7
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4

processor\t: 1
model name\t: ARMv7 Processor rev 4 (v7l)
BogoMIPS\t: 38.40
Features\t: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer\t: 0x41
CPU architecture: 7
CPU variant\t: 0x0
CPU part\t: 0xd03
CPU revision\t: 4

Hardware\t: BCM2835
Revision\t: a02082
Serial\t\t: 00000000a3b2c1d0
Model\t\t: Raspberry Pi 3 Model B Rev 1.2
"""

# An aarch64 kernel (Neoverse-N1): neither model name nor physical id; one processor.
AARCH64_CPUINFO = """\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp ssbs
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x3
CPU part\t: 0xd0c
CPU revision\t: 1
"""

XEON = 'Intel(R) Xeon(R) Gold 6346 CPU @ 3.10GHz'
T4_UUID = 'GPU-5a1e6b0c-2f9d-3c41-8e52-0d6f1b7a9c33'
H200_UUID = 'GPU-0e9c7d3a-61b4-4f2e-9a85-3c7d2b1f6e40'

# ---------------------------------------------------------------- the consumers, in Go

CONSUMERS_GO = r"""// The readers of the two ConfigMaps, copied from OpenKasugai controller v1.1.0 (Apache-2.0):
// InfoCollector's writer types (src/tools/InfoCollector/pkg/configmap/configmap_types.go),
// DeviceInfo's reader types and createComputeResourceCR/createFunctionData
// (src/DeviceInfo/internal/controller/deviceinfo_controller.go, RegionInfo and FunctionInfrastruct from
// its api/v1/computeresource_types.go, trimmed to the fields used) and WBFunction's device lookup
// (src/WBFunction/internal/controller/wbfunction_controller.go, createCustomResource).
package main

import (
    "encoding/json"
    "fmt"
    "os"
)

// ---- InfoCollector pkg/configmap/configmap_types.go
type cmDeviceInfo struct {
    DeviceFilePath *string `json:"deviceFilePath,omitempty"`
    NodeName       string  `json:"nodeName"`
    DeviceUUID     *string `json:"deviceUUID,omitempty"`
    DeviceType     string  `json:"deviceType"`
    DeviceIndex    int32   `json:"deviceIndex"`
}
type cmDeviceRegionInfo struct {
    NodeName        string             `json:"nodeName"`
    DeviceFilePath  *string            `json:"deviceFilePath,omitempty"`
    DeviceUUID      *string            `json:"deviceUUID,omitempty"`
    FunctionTargets []cmRegionInDevice `json:"functionTargets"`
}
type cmRegionInDevice struct {
    RegionType   string                        `json:"regionType"`
    RegionName   string                        `json:"regionName"`
    MaxFunctions *int32                        `json:"maxFunctions,omitempty"`
    MaxCapacity  *int32                        `json:"maxCapacity,omitempty"`
    Functions    []cmSimpleFunctionInfraStruct `json:"functions,omitempty"`
}
type cmSimpleFunctionInfraStruct struct {
    FunctionIndex *int32 `json:"functionIndex,omitempty"`
    PartitionName string `json:"partitionName"`
    FunctionName  string `json:"functionName"`
    MaxDataFlows  int32  `json:"maxDataFlows"`
    MaxCapacity   int32  `json:"maxCapacity"`
}

// ---- DeviceInfo deviceinfo_controller.go
type InfrastructureInfo struct {
    DeviceFilePath *string `json:"deviceFilePath,omitempty"`
    NodeName       string  `json:"nodeName"`
    DeviceUUID     *string `json:"deviceUUID,omitempty"`
    DeviceType     string  `json:"deviceType"`
    DeviceIndex    int32   `json:"deviceIndex"`
}
type DeployInfo struct {
    NodeName        string            `json:"nodeName"`
    DeviceFilePath  *string           `json:"deviceFilePath,omitempty"`
    DeviceUUID      *string           `json:"deviceUUID,omitempty"`
    FunctionTargets *[]regionIndevice `json:"functionTargets"`
}
type regionIndevice struct {
    RegionType   string                       `json:"regionType"`
    RegionName   string                       `json:"regionName"`
    MaxFunctions *int32                       `json:"maxFunctions"`
    MaxCapacity  *int32                       `json:"maxCapacity"`
    Functions    *[]simplefunctioninfrastruct `json:"functions"`
}
type simplefunctioninfrastruct struct {
    FunctionIndex int32  `json:"functionIndex"`
    PartitionName string `json:"partitionName"`
    FunctionName  string `json:"functionName"`
    MaxDataFlows  int32  `json:"maxDataFlows"`
    MaxCapacity   int32  `json:"maxCapacity"`
}
type FunctionInfrastruct struct {
    FunctionIndex    int32  `json:"functionIndex"`
    PartitionName    string `json:"partitionName"`
    FunctionName     string `json:"functionName"`
    Available        bool   `json:"available"`
    MaxDataFlows     *int32 `json:"maxDataFlows"`
    CurrentDataFlows *int32 `json:"currentDataFlows"`
    MaxCapacity      *int32 `json:"maxCapacity"`
    CurrentCapacity  *int32 `json:"currentCapacity"`
}
type RegionInfo struct {
    Name             string                `json:"name"`
    Type             string                `json:"type"`
    DeviceFilePath   string                `json:"deviceFilePath"`
    DeviceUUID       *string               `json:"deviceUUID"`
    DeviceType       string                `json:"deviceType"`
    DeviceIndex      int32                 `json:"deviceIndex"`
    Available        bool                  `json:"available"`
    Status           string                `json:"status"`
    MaxFunctions     *int32                `json:"maxFunctions"`
    CurrentFunctions *int32                `json:"currentFunctions"`
    MaxCapacity      *int32                `json:"maxCapacity"`
    CurrentCapacity  *int32                `json:"currentCapacity"`
    Functions        []FunctionInfrastruct `json:"functions,omitempty"`
}

var gMyNodeName string
var gInfraStructureInfo map[string][]InfrastructureInfo
var gDeployInfo map[string][]DeployInfo

func createComputeResourceCR() (regioninfos []RegionInfo) {
    infraDevice := gInfraStructureInfo["devices"]
    deployDevice := gDeployInfo["devices"]
    for infraIndex := 0; infraIndex < len(infraDevice); infraIndex++ {
        infraData := infraDevice[infraIndex]
        if infraData.NodeName != gMyNodeName {
            continue
        }
        if infraData.DeviceType == "memory" {
            continue
        }
        for deployIndex := 0; deployIndex < len(deployDevice); deployIndex++ {
            deployDevice := deployDevice[deployIndex]
            if deployDevice.NodeName != gMyNodeName {
                continue
            }
            if deployDevice.DeviceUUID == nil && deployDevice.DeviceFilePath == nil {
                continue
            } else if deployDevice.DeviceUUID != nil {
                if *deployDevice.DeviceUUID != *infraData.DeviceUUID {
                    continue
                }
            } else {
                if *deployDevice.DeviceFilePath != *infraData.DeviceFilePath {
                    continue
                }
            }
            regionList, funcData := createFunctionData(*deployDevice.FunctionTargets)
            for regionIndex := 0; regionIndex < len(*deployDevice.FunctionTargets); regionIndex++ {
                deployFunctionTargets := (*deployDevice.FunctionTargets)[regionIndex]
                var regions RegionInfo
                var defaultCurrentFunctions int32
                var defaultCurrentCapacity int32
                var deviceFilePathString string
                if nil != infraData.DeviceFilePath {
                    deviceFilePathString = *infraData.DeviceFilePath
                }
                regions.Name = deployFunctionTargets.RegionName
                regions.Type = deployFunctionTargets.RegionType
                regions.DeviceFilePath = deviceFilePathString
                regions.DeviceUUID = infraData.DeviceUUID
                regions.DeviceType = infraData.DeviceType
                regions.DeviceIndex = infraData.DeviceIndex
                regions.Available = true
                if 0 != len(regionList) &&
                    0 != len(funcData[regionList[regionIndex]]) {
                    regions.Functions = funcData[regionList[regionIndex]]
                    var currentFunction int32 = int32(len(funcData[regionList[regionIndex]]))
                    var maxFunction int32 = int32(len(funcData[regionList[regionIndex]]))
                    regions.CurrentFunctions = &currentFunction
                    regions.Status = "Ready"
                    regions.MaxFunctions = &maxFunction
                    regions.MaxCapacity = deployFunctionTargets.MaxCapacity
                    regions.CurrentCapacity = &defaultCurrentCapacity
                } else {
                    if "" != regions.DeviceFilePath {
                        regions.Status = "NotReady"
                    } else {
                        regions.Status = "Ready"
                        regions.CurrentFunctions = &defaultCurrentFunctions
                        regions.CurrentCapacity = &defaultCurrentCapacity
                    }
                    if nil != deployFunctionTargets.MaxFunctions {
                        regions.MaxFunctions = deployFunctionTargets.MaxFunctions
                    }
                    if nil != deployFunctionTargets.MaxCapacity {
                        regions.MaxCapacity = deployFunctionTargets.MaxCapacity
                    }
                }
                regioninfos = append(regioninfos, regions)
            }
            break
        }
    }
    return regioninfos
}

func createFunctionData(deployFunctionTargets []regionIndevice) ([]string, map[string][]FunctionInfrastruct) {
    var regionList []string
    functions := make(map[string][]FunctionInfrastruct)
    for targetsIndex := 0; targetsIndex < len(deployFunctionTargets); targetsIndex++ {
        region := deployFunctionTargets[targetsIndex].RegionName
        if nil == deployFunctionTargets[targetsIndex].Functions {
            continue
        }
        deployFunctions := deployFunctionTargets[targetsIndex].Functions
        for deployFunctionIndex := 0; deployFunctionIndex < len(*deployFunctions); deployFunctionIndex++ {
            listFlag := false
            depFunctions := (*deployFunctions)[deployFunctionIndex]
            for _, strRegion := range regionList {
                if strRegion == region {
                    listFlag = true
                    break
                }
            }
            if listFlag == false {
                regionList = append(regionList, region)
            }
            var funcData FunctionInfrastruct
            var zero int32
            funcData.FunctionIndex = depFunctions.FunctionIndex
            funcData.PartitionName = depFunctions.PartitionName
            funcData.FunctionName = depFunctions.FunctionName
            funcData.Available = true
            funcData.MaxDataFlows = &depFunctions.MaxDataFlows
            funcData.CurrentDataFlows = &zero
            funcData.MaxCapacity = &depFunctions.MaxCapacity
            funcData.CurrentCapacity = &zero
            functions[region] = append(functions[region], funcData)
        }
    }
    return regionList, functions
}

func must(err error) {
    if err != nil {
        panic(err)
    }
}

// usage: consumers INFRA.json DEPLOY.json; prints one JSON object.
func main() {
    infraText, err := os.ReadFile(os.Args[1])
    must(err)
    deployText, err := os.ReadFile(os.Args[2])
    must(err)
    out := map[string]any{}

    // InfoCollector's own marshalling of what it would have unmarshalled (GetConfigMap then CreateConfigMap)
    var cmInfra map[string][]cmDeviceInfo
    must(json.Unmarshal(infraText, &cmInfra))
    var cmDeploy map[string][]cmDeviceRegionInfo
    must(json.Unmarshal(deployText, &cmDeploy))
    b, err := json.Marshal(cmInfra)
    must(err)
    out["infocollector_infrastructureinfo"] = string(b)
    b, err = json.Marshal(cmDeploy)
    must(err)
    out["infocollector_deployinfo"] = string(b)

    // DeviceInfo: loadConfigMap, then createComputeResourceCR for each node (K8S_NODENAME)
    must(json.Unmarshal(infraText, &gInfraStructureInfo))
    must(json.Unmarshal(deployText, &gDeployInfo))
    regions := map[string][]RegionInfo{}
    for _, device := range gInfraStructureInfo["devices"] {
        gMyNodeName = device.NodeName
        regions[gMyNodeName] = createComputeResourceCR()
    }
    out["computeresource_regions"] = regions

    // WBFunction: the device a WBFunction of (nodeName, deviceType, deviceIndex) gets
    accelerators := map[string]string{}
    var wbInfra map[string][]InfrastructureInfo
    must(json.Unmarshal(infraText, &wbInfra))
    for _, want := range wbInfra["devices"] {
        var deviceUUID string
        for _, infraData := range wbInfra["devices"] {
            if infraData.NodeName != want.NodeName || infraData.DeviceType != want.DeviceType || infraData.DeviceIndex != want.DeviceIndex {
                continue
            }
            deviceUUID = *infraData.DeviceUUID
        }
        accelerators[fmt.Sprintf("%s/%s/%d", want.NodeName, want.DeviceType, want.DeviceIndex)] = deviceUUID
    }
    out["wbfunction_accelerator_ids"] = accelerators
    b, err = json.Marshal(out)
    must(err)
    fmt.Println(string(b))
}
"""

# ---------------------------------------------------------------- expected documents

# A 2-worker CPU-only lab on this machine's AMD EPYC (a model upstream's tables do not know), one socket.
LAB2_INFRASTRUCTUREINFO = (
    '{"devices":['
    '{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0","deviceType":"cpu","deviceIndex":0},'
    '{"nodeName":"okl-worker","deviceUUID":"okl-worker-mem0","deviceType":"memory","deviceIndex":0},'
    '{"nodeName":"okl-worker2","deviceUUID":"okl-worker2-cpu0","deviceType":"cpu","deviceIndex":0},'
    '{"nodeName":"okl-worker2","deviceUUID":"okl-worker2-mem0","deviceType":"memory","deviceIndex":0}]}')
LAB2_DEPLOYINFO = (
    '{"devices":['
    '{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0",'
    '"functionTargets":[{"regionType":"cpu","regionName":"cpu","maxFunctions":110,"maxCapacity":120}]},'
    '{"nodeName":"okl-worker2","deviceUUID":"okl-worker2-cpu0",'
    '"functionTargets":[{"regionType":"cpu","regionName":"cpu","maxFunctions":110,"maxCapacity":120}]}]}')

# The 2-socket Xeon Gold 6346 (in upstream's tables), okl-worker2 with a Tesla T4.
T4LAB_INFRASTRUCTUREINFO = (
    '{"devices":['
    '{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0","deviceType":"cpu","deviceIndex":0},'
    '{"nodeName":"okl-worker","deviceUUID":"okl-worker-mem0","deviceType":"memory","deviceIndex":0},'
    '{"nodeName":"okl-worker2","deviceUUID":"' + T4_UUID + '","deviceType":"t4","deviceIndex":0},'
    '{"nodeName":"okl-worker2","deviceUUID":"okl-worker2-cpu0","deviceType":"cpu","deviceIndex":0},'
    '{"nodeName":"okl-worker2","deviceUUID":"okl-worker2-mem0","deviceType":"memory","deviceIndex":0}]}')
T4LAB_DEPLOYINFO = (
    '{"devices":['
    '{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0",'
    '"functionTargets":[{"regionType":"cpu","regionName":"cpu","maxFunctions":220,"maxCapacity":240}]},'
    '{"nodeName":"okl-worker2","deviceUUID":"' + T4_UUID + '",'
    '"functionTargets":[{"regionType":"t4","regionName":"t4","maxFunctions":110,"maxCapacity":40}]},'
    '{"nodeName":"okl-worker2","deviceUUID":"okl-worker2-cpu0",'
    '"functionTargets":[{"regionType":"cpu","regionName":"cpu","maxFunctions":220,"maxCapacity":240}]}]}')

LAB2_NODES = [{'name': 'okl-worker', 'gpus': []}, {'name': 'okl-worker2', 'gpus': []}]
T4LAB_NODES = [{'name': 'okl-worker', 'gpus': []},
               {'name': 'okl-worker2', 'gpus': [{'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4'}]}]


def _build(nodes, cpuinfo, **kwargs):
    model, count = parse_cpuinfo(cpuinfo)
    return infra_info(nodes, model, count, DEVICE_TYPE_MAP, REGION_TABLE, **kwargs)


def _data(result):
    """The ConfigMaps' data strings, by ConfigMap name."""
    return {cm['metadata']['name']: cm['data'][cm['metadata']['name'] + '.json'] for cm in result['configmaps']}


# ---------------------------------------------------------------- cpuinfo

def test_fixture_is_this_machine():
    """The embedded sample is this machine's /proc/cpuinfo (where that is still the machine it was taken on)."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as handle:
            live = handle.read()
    except OSError:
        pytest.skip('no /proc/cpuinfo')
    if 'AMD EPYC' not in live:
        pytest.skip('another machine')
    assert parse_cpuinfo(live) == parse_cpuinfo(EPYC_CPUINFO)


@pytest.mark.parametrize('text, expected', [
    (EPYC_CPUINFO, ('AMD EPYC', 1)),
    (XEON_CPUINFO, (XEON, 2)),
    (RPI3_CPUINFO, ('ARMv7 Processor rev 4 (v7l)', 1)),   # no physical id: 1, where upstream counts 0
], ids=['epyc', 'xeon-2-sockets', 'rpi3-no-physical-id'])
def test_parse_cpuinfo(text, expected):
    assert parse_cpuinfo(text) == expected


@pytest.mark.parametrize('text', ['', AARCH64_CPUINFO, 'model name\t: \n'], ids=['empty', 'aarch64-no-model-name', 'empty-model'])
def test_parse_cpuinfo_without_model_fails(text):
    with pytest.raises(InfraInfoError) as err:
        parse_cpuinfo(text)
    assert err.value.field == 'cpuinfo_path' and str(err.value).startswith('cpuinfo_path: ')


def test_parse_cpuinfo_distinct_models_keeps_the_last_sorted():
    """``grep model.name | sort -u`` then InfoCollector's loop keep the last of several distinct models."""
    text = XEON_CPUINFO + '\n' + XEON_CPUINFO.replace(XEON, 'Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz').replace('physical id\t: 1', 'physical id\t: 2')
    assert parse_cpuinfo(text) == ('Intel(R) Xeon(R) Gold 6348 CPU @ 2.60GHz', 3)


@pytest.mark.skipif(not os.path.exists('/proc/cpuinfo') or not shutil.which('sh'), reason='no /proc/cpuinfo')
def test_live_cpuinfo_as_infocollector_reads_it():
    """This machine's /proc/cpuinfo: the same model and count as InfoCollector's own shell commands give."""
    with open('/proc/cpuinfo', encoding='utf-8') as handle:
        model, count = parse_cpuinfo(handle.read())
    out = subprocess.run(['sh', '-c', 'grep model.name /proc/cpuinfo | sort -u'], capture_output=True, text=True, check=True).stdout
    upstream_model = [part.strip('\n\r\t ') for part in out.split(':') if 'model name' not in part][-1]
    sockets = subprocess.run(['sh', '-c', "grep -F 'physical id' /proc/cpuinfo | sort -u | wc -l"],
                             capture_output=True, text=True, check=True).stdout
    assert model == upstream_model
    assert count == max(1, int(sockets))


# ---------------------------------------------------------------- device types

@pytest.mark.parametrize('model, device_type', [
    ('Tesla T4', 't4'),                      # upstream's devicetypemap.json
    ('NVIDIA A100 80GB PCIe', 'a100'),       # upstream's devicetypemap.json
    ('NVIDIA A100-SXM4-40GB', 'a100'),
    ('NVIDIA H100 80GB HBM3', 'h100'),
    ('NVIDIA H100 NVL', 'h100'),
    ('NVIDIA H200', 'h200'),
    ('NVIDIA L40S', 'l40s'),
    ('Tesla V100-SXM2-16GB', 'v100'),
    ('NVIDIA GeForce RTX 4090', 'geforcertx4090'),
    ('NVIDIA RTX A6000', 'rtxa6000'),
    ('NVIDIA', 'gpu'),
])
def test_gpu_device_type(model, device_type):
    assert gpu_device_type(model) == device_type


def test_gpu_device_type_names_upstreams_gpus_as_upstream():
    for entry in DEVICE_TYPE_MAP:
        if entry['inputDeviceType'] in ('Tesla T4', 'NVIDIA A100 80GB PCIe'):
            assert gpu_device_type(entry['inputDeviceType']) == entry['outputDeviceType']


# ---------------------------------------------------------------- documents

def test_two_worker_cpu_lab_unknown_amd():
    result = _build(LAB2_NODES, EPYC_CPUINFO)
    assert _data(result) == {'infrastructureinfo': LAB2_INFRASTRUCTUREINFO, 'deployinfo': LAB2_DEPLOYINFO}
    assert result['cpu'] == {'model': 'AMD EPYC', 'count': 1, 'device_type': 'cpu', 'known': False}
    assert result['gpus'] == []
    assert json.loads(LAB2_INFRASTRUCTUREINFO) == result['infrastructureinfo']
    assert json.loads(LAB2_DEPLOYINFO) == result['deployinfo']
    assert result['configmaps'][0] == {'apiVersion': 'v1', 'kind': 'ConfigMap',
                                       'metadata': {'name': 'infrastructureinfo', 'namespace': 'default'},
                                       'data': {'infrastructureinfo.json': LAB2_INFRASTRUCTUREINFO}}
    assert result['configmaps'][1] == {'apiVersion': 'v1', 'kind': 'ConfigMap',
                                       'metadata': {'name': 'deployinfo', 'namespace': 'default'},
                                       'data': {'deployinfo.json': LAB2_DEPLOYINFO}}


def test_unknown_cpu_without_tables_is_the_same():
    """The built-in defaults are what upstream's tables give every CPU they know."""
    model, count = parse_cpuinfo(EPYC_CPUINFO)
    assert _data(infra_info(LAB2_NODES, model, count)) == _data(_build(LAB2_NODES, EPYC_CPUINFO))


def test_known_xeon_two_sockets_with_t4():
    result = _build(T4LAB_NODES, XEON_CPUINFO)
    assert _data(result) == {'infrastructureinfo': T4LAB_INFRASTRUCTUREINFO, 'deployinfo': T4LAB_DEPLOYINFO}
    assert result['cpu'] == {'model': XEON, 'count': 2, 'device_type': 'cpu', 'known': True}
    assert result['gpus'] == [{'node': 'okl-worker2', 'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4',
                               'device_type': 't4', 'known': True}]


def test_unknown_cpu_scaled_by_sockets_and_own_limits():
    two_socket_epyc = EPYC_CPUINFO + '\n' + EPYC_CPUINFO.replace('physical id\t: 0', 'physical id\t: 1')
    result = _build(LAB2_NODES[:1], two_socket_epyc, cpu_max_functions=10, cpu_max_capacity=30)
    assert result['deployinfo']['devices'][0]['functionTargets'] == [
        {'regionType': 'cpu', 'regionName': 'cpu', 'maxFunctions': 20, 'maxCapacity': 60}]


def test_unknown_gpu():
    nodes = [{'name': 'okl-worker', 'gpus': [{'index': 0, 'uuid': H200_UUID, 'model': 'NVIDIA H200'}]}]
    result = _build(nodes, EPYC_CPUINFO, gpu_max_capacity=80)
    assert result['infrastructureinfo']['devices'][0] == {'nodeName': 'okl-worker', 'deviceUUID': H200_UUID,
                                                          'deviceType': 'h200', 'deviceIndex': 0}
    assert result['deployinfo']['devices'][0] == {'nodeName': 'okl-worker', 'deviceUUID': H200_UUID, 'functionTargets': [
        {'regionType': 'h200', 'regionName': 'h200', 'maxFunctions': 110, 'maxCapacity': 80}]}
    assert result['gpus'][0]['known'] is False
    # a model mapped by the caller's tables takes their type and regions
    result = infra_info(nodes, 'AMD EPYC', 1, DEVICE_TYPE_MAP + [{'inputDeviceType': 'NVIDIA H200', 'outputDeviceType': 'h200nvl'}],
                        REGION_TABLE + [{'subDeviceSpecRef': 'NVIDIA H200', 'functionTargets': [
                            {'regionName': 'h200nvl', 'regionType': 'h200nvl', 'maxFunctions': 7}]}])
    assert result['deployinfo']['devices'][0]['functionTargets'] == [{'regionType': 'h200nvl', 'regionName': 'h200nvl', 'maxFunctions': 7}]
    assert result['gpus'][0]['device_type'] == 'h200nvl' and result['gpus'][0]['known'] is True


def test_deterministic_order():
    """Nodes by name; a node's GPUs by index, then its CPU and memory, whatever order they came in."""
    gpus = [{'index': 1, 'uuid': H200_UUID, 'model': 'NVIDIA H200'}, {'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4'}]
    forward = _build([{'name': 'okl-worker', 'gpus': []}, {'name': 'okl-worker2', 'gpus': gpus}], XEON_CPUINFO)
    backward = _build([{'name': 'okl-worker2', 'gpus': gpus[::-1]}, {'name': 'okl-worker', 'gpus': []}], XEON_CPUINFO)
    assert _data(forward) == _data(backward)
    assert [(d['nodeName'], d['deviceType'], d['deviceIndex']) for d in forward['infrastructureinfo']['devices']] == [
        ('okl-worker', 'cpu', 0), ('okl-worker', 'memory', 0),
        ('okl-worker2', 't4', 0), ('okl-worker2', 'h200', 1), ('okl-worker2', 'cpu', 0), ('okl-worker2', 'memory', 0)]


def test_go_json_escapes_like_go():
    assert go_json({'a': '<x & y>', 'b': 'é\u2028'}) == '{"a":"\\u003cx \\u0026 y\\u003e","b":"é\\u2028"}'
    assert configmap('deployinfo', {'devices': []})['data'] == {'deployinfo.json': '{"devices":[]}'}


def test_nvidia_smi():
    """GPUs as ``nvidia-smi --query-gpu=index,uuid,name --format=csv,noheader`` prints them on a GPU worker."""
    text = f'0, {T4_UUID}, Tesla T4\n1, {H200_UUID}, NVIDIA H200\n'
    assert parse_nvidia_smi(text) == [{'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4'},
                                      {'index': 1, 'uuid': H200_UUID, 'model': 'NVIDIA H200'}]
    by_smi = _build([{'name': 'okl-worker'}, {'name': 'okl-worker2'}], XEON_CPUINFO, nvidia_smi={'okl-worker2': f'0, {T4_UUID}, Tesla T4\n'})
    assert _data(by_smi) == {'infrastructureinfo': T4LAB_INFRASTRUCTUREINFO, 'deployinfo': T4LAB_DEPLOYINFO}


@pytest.mark.parametrize('nodes, nvidia_smi, field', [
    ([{'name': 'okl-worker'}], {'okl-worker3': ''}, 'nvidia_smi.okl-worker3'),
    (T4LAB_NODES, {'okl-worker2': f'0, {T4_UUID}, Tesla T4'}, 'nvidia_smi.okl-worker2'),
    ([{'name': 'okl-worker'}], {'okl-worker': 'No devices were found'}, 'nvidia_smi.okl-worker'),
    ([{'name': 'okl-worker'}], {'okl-worker': f'0, {T4_UUID}'}, 'nvidia_smi.okl-worker'),
])
def test_wrong_nvidia_smi(nodes, nvidia_smi, field):
    with pytest.raises(InfraInfoError) as err:
        infra_info(nodes, 'AMD EPYC', 1, nvidia_smi=nvidia_smi)
    assert err.value.field == field, str(err.value)


# ---------------------------------------------------------------- wrong input

@pytest.mark.parametrize('nodes, field', [
    ([], 'nodes'),
    ([{'name': 'okl-worker'}, {'gpus': []}], 'nodes[1].name'),
    ([{'name': ''}], 'nodes[0].name'),
    ([{'name': 'okl-worker'}, {'name': 'okl-worker'}], 'nodes[1].name'),
    (['okl-worker'], 'nodes[0]'),
    ([{'name': 'okl-worker', 'gpus': [{'index': 0, 'model': 'Tesla T4'}]}], 'nodes[0].gpus[0].uuid'),
    ([{'name': 'okl-worker', 'gpus': [{'index': 0, 'uuid': T4_UUID}]}], 'nodes[0].gpus[0].model'),
    ([{'name': 'okl-worker', 'gpus': [{'uuid': T4_UUID, 'model': 'Tesla T4'}]}], 'nodes[0].gpus[0].index'),
    ([{'name': 'okl-worker', 'gpus': [{'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4'},
                                      {'index': 0, 'uuid': H200_UUID, 'model': 'NVIDIA H200'}]}], 'nodes[0].gpus[1].index'),
    ([{'name': 'okl-worker', 'gpus': [{'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4'}]},
      {'name': 'okl-worker2', 'gpus': [{'index': 0, 'uuid': T4_UUID, 'model': 'Tesla T4'}]}], 'nodes'),
])
def test_wrong_nodes(nodes, field):
    with pytest.raises(InfraInfoError) as err:
        infra_info(nodes, 'AMD EPYC', 1)
    assert err.value.field == field, str(err.value)


@pytest.mark.parametrize('kwargs, field', [
    ({'device_type_map': [{'inputDeviceType': 'Tesla T4'}]}, 'device_type_map[0].outputDeviceType'),
    ({'region_table': [{'functionTargets': []}]}, 'region_table[0].subDeviceSpecRef'),
    ({'region_table': [{'subDeviceSpecRef': 'x', 'functionTargets': [{'regionName': 'a', 'regionType': 'a', 'maxFunctions': '1'}]}]},
     'region_table[0].functionTargets[0].maxFunctions'),
    ({'cpu_max_capacity': -1}, 'cpu_max_capacity'),
])
def test_wrong_tables(kwargs, field):
    with pytest.raises(InfraInfoError) as err:
        infra_info(LAB2_NODES, 'AMD EPYC', 1, **kwargs)
    assert err.value.field == field, str(err.value)


# ---------------------------------------------------------------- against upstream

def test_embedded_tables_are_upstreams():
    if not os.path.exists(MIRROR_TARBALL):
        pytest.skip('no mirrored controller source')
    with tarfile.open(MIRROR_TARBALL) as tar:
        def read(name):
            return json.load(tar.extractfile(f'controller-1.1.0/test/sample-data/sample-data-common/json/{name}'))
        assert read('devicetypemap.json') == DEVICE_TYPE_MAP
        assert read('region-unique-info.json') == REGION_TABLE


def _go():
    return shutil.which('go') or ('/usr/local/go/bin/go' if os.access('/usr/local/go/bin/go', os.X_OK) else None)


def _region(name, uuid, device_type, max_functions, max_capacity):
    """A ComputeResource region as DeviceInfo's createComputeResourceCR makes it for a device without functions."""
    return {'name': name, 'type': name, 'deviceFilePath': '', 'deviceUUID': uuid, 'deviceType': device_type,
            'deviceIndex': 0, 'available': True, 'status': 'Ready', 'maxFunctions': max_functions,
            'currentFunctions': 0, 'maxCapacity': max_capacity, 'currentCapacity': 0}


@pytest.fixture(scope='module')
def consumers(tmp_path_factory):
    """CONSUMERS_GO built once with Go's standard library only (offline)."""
    if _go() is None:
        pytest.skip('no Go toolchain')
    work = tmp_path_factory.mktemp('consumers')
    (work / 'consumers.go').write_text(CONSUMERS_GO)
    env = dict(os.environ, GOCACHE=str(work / 'gocache'), GOPATH=str(work / 'gopath'), GOTOOLCHAIN='local',
               GOPROXY='off', GO111MODULE='off', GOFLAGS='')
    proc = subprocess.run([_go(), 'build', '-o', 'consumers', 'consumers.go'], cwd=work, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    return str(work / 'consumers')


@pytest.mark.parametrize('nodes, cpuinfo, regions, accelerator_ids', [
    (LAB2_NODES, EPYC_CPUINFO,
     {'okl-worker': [_region('cpu', 'okl-worker-cpu0', 'cpu', 110, 120)],
      'okl-worker2': [_region('cpu', 'okl-worker2-cpu0', 'cpu', 110, 120)]},
     {'okl-worker/cpu/0': 'okl-worker-cpu0', 'okl-worker/memory/0': 'okl-worker-mem0',
      'okl-worker2/cpu/0': 'okl-worker2-cpu0', 'okl-worker2/memory/0': 'okl-worker2-mem0'}),
    (T4LAB_NODES, XEON_CPUINFO,
     {'okl-worker': [_region('cpu', 'okl-worker-cpu0', 'cpu', 220, 240)],
      'okl-worker2': [_region('t4', T4_UUID, 't4', 110, 40), _region('cpu', 'okl-worker2-cpu0', 'cpu', 220, 240)]},
     {'okl-worker/cpu/0': 'okl-worker-cpu0', 'okl-worker/memory/0': 'okl-worker-mem0',
      'okl-worker2/t4/0': T4_UUID, 'okl-worker2/cpu/0': 'okl-worker2-cpu0', 'okl-worker2/memory/0': 'okl-worker2-mem0'}),
], ids=['2-worker-amd', 'xeon-t4'])
def test_consumers_parse_what_is_written(tmp_path, consumers, nodes, cpuinfo, regions, accelerator_ids):
    """Go's encoding/json with upstream's own types: InfoCollector would write the same bytes; DeviceInfo builds
    every node's ComputeResource regions without a nil dereference; WBFunction finds every device's UUID."""
    data = _data(_build(nodes, cpuinfo))
    (tmp_path / 'infra.json').write_text(data['infrastructureinfo'])
    (tmp_path / 'deploy.json').write_text(data['deployinfo'])
    proc = subprocess.run([consumers, 'infra.json', 'deploy.json'], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out['infocollector_infrastructureinfo'] == data['infrastructureinfo']
    assert out['infocollector_deployinfo'] == data['deployinfo']
    assert out['computeresource_regions'] == regions
    assert out['wbfunction_accelerator_ids'] == accelerator_ids


def test_why_unknown_models_get_a_region(tmp_path, consumers):
    """What upstream's InfoCollector writes for a CPU its tables do not know (the raw model as the type, and
    ``"functionTargets":null``) makes DeviceInfo's createComputeResourceCR dereference nil: the reason this
    module gives unknown models a region."""
    (tmp_path / 'infra.json').write_text(
        '{"devices":[{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0","deviceType":"AMD EPYC","deviceIndex":0},'
        '{"nodeName":"okl-worker","deviceUUID":"okl-worker-mem0","deviceType":"memory","deviceIndex":0}]}')
    (tmp_path / 'deploy.json').write_text('{"devices":[{"nodeName":"okl-worker","deviceUUID":"okl-worker-cpu0","functionTargets":null}]}')
    proc = subprocess.run([consumers, 'infra.json', 'deploy.json'], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0 and 'nil pointer dereference' in proc.stderr
    assert 'createComputeResourceCR' in proc.stderr

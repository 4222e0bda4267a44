# The devices built into QEMU for ossa (configure --without-default-devices
# --with-devices-x86_64=ossa): the machine and what the guests, the qtests,
# the benchmark and the fuzz targets put on it. The q35 machine selects the
# rest (ICH9, AHCI, the ISA serial port, fw_cfg).

# The machine, and the VT-d IOMMU of the intel-iommu lane
CONFIG_Q35=y
CONFIG_VTD=y
# The PC's ACPI tables call into CXL's host code without selecting it
# (QEMU 10.2), CXL needs the PCIe expander bridge, and CXL's host code
# calls into the CXL memory device without selecting it (QEMU 10.0)
CONFIG_PXB=y
CONFIG_CXL=y
CONFIG_CXL_MEM_DEVICE=y
# The device
CONFIG_OSSA=y
# virtio-serial-pci (the guest's results and control ports) and the
# virtio-iommu-pci of the virtio-iommu lane
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_VIRTIO_IOMMU=y
# pcie-root-port (hot-plug tests)
CONFIG_PCIE_PORT=y
# nvme (the benchmark's peer device), which calls the SPDM socket
# backend without selecting it (QEMU 10.0 to 10.2)
CONFIG_NVME_PCI=y
CONFIG_SPDM_SOCKET=y

/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * ossa hardware interface: PCI identity and BAR0 register map.
 *
 * This header is the C rendering of docs/hardware.md, shared as is by the
 * Linux driver (drivers/accel/ossa) and the QEMU device model (hw/ossa).
 * It holds plain constants only, so that both code bases can include it.
 */
#ifndef OSSA_REGS_H
#define OSSA_REGS_H

/* PCI identity */
#define OSSA_PCI_VENDOR_ID		0x1234
#define OSSA_PCI_DEVICE_ID		0x0a55
#define OSSA_PCI_REVISION		0x01
#define OSSA_PCI_CLASS_ACCELERATOR	0x1200	/* processing accelerator */

/* BARs */
#define OSSA_BAR_REGS			0	/* 64-bit MMIO, registers */
#define OSSA_BAR_MSIX			4	/* 64-bit MMIO, MSI-X table and PBA */
#define OSSA_REGS_SIZE			0x1000

/* MSI-X */
#define OSSA_MSIX_VECTORS		4

/* BAR0 registers: 32-bit, little-endian, naturally aligned */
#define OSSA_REG_ID			0x000	/* RO: OSSA_ID_MAGIC */
#define OSSA_REG_VERSION		0x004	/* RO: interface version */

/* OSSA_REG_ID */
#define OSSA_ID_MAGIC			0x4153534fu	/* "OSSA" in memory order */

/* OSSA_REG_VERSION: major in bits 31:16, minor in bits 15:0 */
#define OSSA_VERSION_MAJOR_SHIFT	16
#define OSSA_VERSION_MINOR_MASK		0xffffu
#define OSSA_VERSION_MAJOR		1
#define OSSA_VERSION_MINOR		0
#define OSSA_VERSION_VALUE \
	((OSSA_VERSION_MAJOR << OSSA_VERSION_MAJOR_SHIFT) | OSSA_VERSION_MINOR)

#endif /* OSSA_REGS_H */

/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * ossa hardware interface: PCI identity, BAR0 registers, queue and job
 * descriptor formats, commands and page-table format.
 *
 * This header is the C rendering of the ossa datasheet (interface 1.1;
 * QEMU's docs/specs/ossa.rst), shared as is by the Linux driver
 * (drivers/accel/ossa) and the QEMU device model (hw/misc/ossa). It holds
 * plain constants only, so that both code bases can include it. Section
 * numbers refer to the datasheet.
 */
#ifndef OSSA_REGS_H
#define OSSA_REGS_H

/* 2. PCI identity */
#define OSSA_PCI_VENDOR_ID              0x1234
#define OSSA_PCI_DEVICE_ID              0x0a55
#define OSSA_PCI_REVISION               0x01
#define OSSA_PCI_CLASS_ACCELERATOR      0x1200  /* processing accelerator */

/* 3. BARs */
#define OSSA_BAR_REGS                   0       /* 64-bit MMIO, registers */
#define OSSA_BAR_MSIX                   4       /* 32-bit MMIO, MSI-X */
#define OSSA_REGS_SIZE                  0x1000

/* 4.1 Global registers: 32-bit, naturally aligned */
#define OSSA_REG_ID                     0x000   /* RO */
#define OSSA_REG_VERSION                0x004   /* RO */
#define OSSA_REG_CAPS                   0x008   /* RO */
#define OSSA_REG_RESET                  0x010   /* WO */
#define OSSA_REG_SCRATCH                0x014   /* RW */
#define OSSA_REG_TIME_LO                0x018   /* RO, latches TIME_HI */
#define OSSA_REG_TIME_HI                0x01c   /* RO */
#define OSSA_REG_IRQ_STATUS             0x020   /* W1C */
#define OSSA_REG_IRQ_MASK               0x024   /* RW */
#define OSSA_REG_CTX_TABLE_LO           0x030   /* RW, bits 11:0 read 0 */
#define OSSA_REG_CTX_TABLE_HI           0x034   /* RW */
#define OSSA_REG_CTX_STOPPED_LO         0x038   /* W1C */
#define OSSA_REG_CTX_STOPPED_HI         0x03c   /* W1C */
#define OSSA_REG_FAULT_ADDR_LO          0x040   /* RO */
#define OSSA_REG_FAULT_ADDR_HI          0x044   /* RO */
#define OSSA_REG_FAULT_INFO             0x048   /* W1C (VALID) */
#define OSSA_REG_FAULT_COUNT            0x04c   /* RO */

/* 12. Fault injection (present when CAPS.FAULT_INJECTION) */
#define OSSA_REG_INJECT_HANG            0x080   /* RW, bit q: hang queue q */
#define OSSA_REG_INJECT_FAIL            0x084   /* RW, bit 0: fail next job */
#define OSSA_REG_INJECT_DELAY_US        0x088   /* RW */
#define OSSA_REG_INJECT_FAULT_LO        0x090   /* RW */
#define OSSA_REG_INJECT_FAULT_HI        0x094   /* RW */

#define OSSA_INJECT_FAIL_NEXT           0x1u
#define OSSA_INJECT_FAULT_ENABLE        0x1u
#define OSSA_INJECT_DELAY_MAX_US        1000000u

/* 5. Queues: registers at OSSA_REG_QUEUE(q) + OSSA_REG_Q_* */
#define OSSA_REG_QUEUE(q)               (0x100 + 0x40 * (q))
#define OSSA_REG_Q_BASE_LO              0x00    /* RW, bits 5:0 read 0 */
#define OSSA_REG_Q_BASE_HI              0x04    /* RW */
#define OSSA_REG_Q_SIZE                 0x08    /* RW, log2 of entries */
#define OSSA_REG_Q_CONTROL              0x0c    /* RW */
#define OSSA_REG_Q_TAIL                 0x10    /* RW, doorbell */
#define OSSA_REG_Q_HEAD                 0x14    /* RO */
#define OSSA_REG_Q_STATUS               0x18    /* RO */
#define OSSA_QUEUE_REGS_SIZE            0x40

/* 4.2 VERSION */
#define OSSA_VERSION_MAJOR_SHIFT        16
#define OSSA_VERSION_MAJOR_MASK         0xffff0000u
#define OSSA_VERSION_MINOR_MASK         0xffffu
#define OSSA_VERSION_MAJOR              1
#define OSSA_VERSION_MINOR              1
#define OSSA_VERSION_VALUE (OSSA_VERSION_MAJOR << 16 | OSSA_VERSION_MINOR)

/* ID: "OSSA" in memory order */
#define OSSA_ID_MAGIC                   0x4153534fu

/* 4.3 CAPS */
#define OSSA_CAPS_NUM_QUEUES_MASK       0x000000ffu
#define OSSA_CAPS_CONTEXTS_LOG2_SHIFT   8
#define OSSA_CAPS_CONTEXTS_LOG2_MASK    0x0000ff00u
#define OSSA_CAPS_VA_BITS_SHIFT         16
#define OSSA_CAPS_VA_BITS_MASK          0x00ff0000u
#define OSSA_CAPS_FAULT_INJECTION       0x01000000u
#define OSSA_CAPS_DMA_BITS_SHIFT        25      /* 0: 64 (interface 1.0) */
#define OSSA_CAPS_DMA_BITS_MASK         0xfe000000u
#define OSSA_DMA_BITS_MIN               32
#define OSSA_DMA_BITS_MAX               64

/* 4.5 RESET: "RSET" in memory order */
#define OSSA_RESET_MAGIC                0x54455352u

/* 8. IRQ_STATUS / IRQ_MASK causes and MSI-X vectors */
#define OSSA_IRQ_QUEUE_JOB(q)           (0x1u << (q))
#define OSSA_IRQ_QUEUE_ERROR(q)         (0x100u << (q))
#define OSSA_IRQ_MMU_FAULT              0x10000u
#define OSSA_IRQ_ALL                    0x10303u
#define OSSA_MSIX_VECTOR_MISC           0       /* queue errors, MMU faults */
#define OSSA_MSIX_VECTOR_QUEUE(q)       (1 + (q))
#define OSSA_MSIX_VECTORS               3

/* 5.1, 5.2 Queue control and status */
#define OSSA_Q_CONTROL_ENABLE           0x1u
#define OSSA_Q_STATUS_ENABLED           0x1u
#define OSSA_Q_STATUS_BUSY              0x2u
#define OSSA_Q_STATUS_ERROR             0x4u
#define OSSA_Q_STATUS_CODE_SHIFT        8
#define OSSA_Q_STATUS_CODE_MASK         0xff00u
#define OSSA_Q_ERR_BAD_RING             1
#define OSSA_Q_ERR_TAIL_OVERRUN         2
#define OSSA_Q_ERR_RING_DMA             3
#define OSSA_Q_BASE_ALIGN               64
#define OSSA_Q_SIZE_MIN                 1
#define OSSA_Q_SIZE_MAX                 12

/* 11. Limits */
#define OSSA_NUM_QUEUES                 2
#define OSSA_CONTEXTS_LOG2              6
#define OSSA_NUM_CONTEXTS               64      /* 1 << CONTEXTS_LOG2 */
#define OSSA_VA_BITS                    39
#define OSSA_CMD_SIZE_MAX               0x100000u       /* 1 MiB */
#define OSSA_DATA_SIZE_MAX              0x40000000ull   /* 1 GiB */
#define OSSA_FMA_COUNT_MAX              0x1000000u      /* 2^24 */

/* 5.3 Job descriptor: 64 bytes, little-endian */
#define OSSA_DESC_SIZE                  64
#define OSSA_DESC_FLAGS                 0x00    /* u32 */
#define OSSA_DESC_CONTEXT               0x04    /* u32 */
#define OSSA_DESC_CMD_ADDR              0x08    /* u64 */
#define OSSA_DESC_CMD_SIZE              0x10    /* u32 */
#define OSSA_DESC_RESERVED              0x14    /* u32, 0 */
#define OSSA_DESC_USER_DATA             0x18    /* u64 */
#define OSSA_DESC_STATUS                0x20    /* u32, device */
#define OSSA_DESC_ERROR_OFFSET          0x24    /* u32, device */
#define OSSA_DESC_START_NS              0x28    /* u64, device */
#define OSSA_DESC_END_NS                0x30    /* u64, device */
#define OSSA_DESC_RESULT                0x20    /* device writes 0x20..0x3f */
#define OSSA_DESC_RESULT_SIZE           32
#define OSSA_DESC_FLAG_IRQ              0x1u

/* 5.4 Job status */
#define OSSA_JOB_OK                     0
#define OSSA_JOB_INVALID_DESCRIPTOR     1
#define OSSA_JOB_INVALID_CONTEXT        2
#define OSSA_JOB_CONTEXT_STOPPED        3
#define OSSA_JOB_INVALID_COMMAND        4
#define OSSA_JOB_MMU_FAULT              5
#define OSSA_JOB_INJECTED_ERROR         6

/* 6. Commands: opcode and size in bytes */
#define OSSA_CMD_NOP                    0x00
#define OSSA_CMD_COPY                   0x01
#define OSSA_CMD_FILL                   0x02
#define OSSA_CMD_CRC32C                 0x03
#define OSSA_CMD_FMA_F32                0x04
#define OSSA_CMD_FENCE                  0x05
#define OSSA_CMD_TIMESTAMP              0x06
#define OSSA_CMD_NOP_SIZE               8
#define OSSA_CMD_COPY_SIZE              32
#define OSSA_CMD_FILL_SIZE              24
#define OSSA_CMD_CRC32C_SIZE            32
#define OSSA_CMD_FMA_F32_SIZE           40
#define OSSA_CMD_FENCE_SIZE             24
#define OSSA_CMD_TIMESTAMP_SIZE         16
#define OSSA_CMD_FENCE_FLAG_IRQ         0x1u
#define OSSA_FMA_NAN                    0x7fc00000u

/* 7.1 Context table: 64 entries of 16 bytes, 4 KiB aligned */
#define OSSA_CTX_ENTRY_SIZE             16
#define OSSA_CTX_TABLE_ALIGN            4096
#define OSSA_CTX_ROOT_VALID             0x1ull

/* 7.2 Page tables: 3 levels of 512 u64 entries, 4 KiB pages */
#define OSSA_PAGE_SHIFT                 12
#define OSSA_PAGE_SIZE                  4096    /* 1 << PAGE_SHIFT */
#define OSSA_PT_LEVELS                  3
#define OSSA_PT_ENTRIES                 512
#define OSSA_PT_INDEX_BITS              9
#define OSSA_PTE_VALID                  0x1ull
#define OSSA_PTE_READ                   0x2ull
#define OSSA_PTE_WRITE                  0x4ull
#define OSSA_PTE_ADDR_MASK              0x000ffffffffff000ull   /* bits 51:12 */
#define OSSA_PTE_ADDR_BITS              52      /* bus address bits of a PTE */

/* 7.4, 7.5 Faults */
#define OSSA_FAULT_NOT_PRESENT          1
#define OSSA_FAULT_PERMISSION           2
#define OSSA_FAULT_RESERVED             3
#define OSSA_FAULT_RANGE                4
#define OSSA_FAULT_WALK_ERROR           5
#define OSSA_FAULT_BUS_ERROR            6
#define OSSA_FAULT_INJECTED             7
#define OSSA_FAULT_INFO_CONTEXT_MASK    0x3fu
#define OSSA_FAULT_INFO_QUEUE_SHIFT     8
#define OSSA_FAULT_INFO_QUEUE_MASK      0x100u
#define OSSA_FAULT_INFO_WRITE           0x200u
#define OSSA_FAULT_INFO_CAUSE_SHIFT     16
#define OSSA_FAULT_INFO_CAUSE_MASK      0xf0000u
#define OSSA_FAULT_INFO_VALID           0x80000000u

#endif /* OSSA_REGS_H */

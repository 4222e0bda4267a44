/**
 * The ossa hardware interface (docs/hardware.md) as the userspace driver
 * programs it: register offsets, the job descriptor, the context table,
 * page-table entries and status codes. The hardware side's header,
 * qemu-device/ossa_regs.h, is the source: a host test compiles it and
 * compares every value here (userspace/tests/host/userspace-driver-layout.test.ts).
 */

export const OSSA_PCI_VENDOR_ID = 0x1234;
export const OSSA_PCI_DEVICE_ID = 0x0a55;
export const OSSA_BAR_REGS = 0;
export const OSSA_REGS_SIZE = 0x1000;

export const OSSA_REG_ID = 0x000;
export const OSSA_REG_VERSION = 0x004;
export const OSSA_REG_CAPS = 0x008;
export const OSSA_REG_RESET = 0x010;
export const OSSA_REG_IRQ_STATUS = 0x020;
export const OSSA_REG_IRQ_MASK = 0x024;
export const OSSA_REG_CTX_TABLE_LO = 0x030;
export const OSSA_REG_CTX_TABLE_HI = 0x034;
export const OSSA_REG_CTX_STOPPED_LO = 0x038;
export const OSSA_REG_CTX_STOPPED_HI = 0x03c;
export const OSSA_REG_FAULT_ADDR_LO = 0x040;
export const OSSA_REG_FAULT_ADDR_HI = 0x044;
export const OSSA_REG_FAULT_INFO = 0x048;

/** Queue q's registers: OSSA_REG_QUEUE(q) + OSSA_REG_Q_*. */
export const OSSA_REG_QUEUE = (q: number): number => 0x100 + 0x40 * q;
export const OSSA_REG_Q_BASE_LO = 0x00;
export const OSSA_REG_Q_BASE_HI = 0x04;
export const OSSA_REG_Q_SIZE = 0x08;
export const OSSA_REG_Q_CONTROL = 0x0c;
export const OSSA_REG_Q_TAIL = 0x10;
export const OSSA_REG_Q_HEAD = 0x14;
export const OSSA_REG_Q_STATUS = 0x18;

export const OSSA_ID_MAGIC = 0x4153534f;
export const OSSA_VERSION_MAJOR_SHIFT = 16;
export const OSSA_VERSION_MAJOR = 1;
export const OSSA_RESET_MAGIC = 0x54455352;
export const OSSA_CAPS_DMA_BITS_SHIFT = 25;
export const OSSA_CAPS_DMA_BITS_MASK = 0xfe000000;

export const OSSA_IRQ_QUEUE_JOB = (q: number): number => 0x1 << q;
export const OSSA_IRQ_QUEUE_ERROR = (q: number): number => 0x100 << q;
export const OSSA_IRQ_MMU_FAULT = 0x10000;
export const OSSA_MSIX_VECTOR_MISC = 0;
export const OSSA_MSIX_VECTOR_QUEUE = (q: number): number => 1 + q;
export const OSSA_MSIX_VECTORS = 3;

export const OSSA_Q_CONTROL_ENABLE = 0x1;
export const OSSA_Q_STATUS_ERROR = 0x4;
export const OSSA_Q_STATUS_CODE_SHIFT = 8;
export const OSSA_Q_SIZE_MAX = 12;

export const OSSA_NUM_CONTEXTS = 64;
export const OSSA_VA_BITS = 39;

export const OSSA_DESC_SIZE = 64;
export const OSSA_DESC_FLAGS = 0x00;
export const OSSA_DESC_CONTEXT = 0x04;
export const OSSA_DESC_CMD_ADDR = 0x08;
export const OSSA_DESC_CMD_SIZE = 0x10;
export const OSSA_DESC_USER_DATA = 0x18;
export const OSSA_DESC_STATUS = 0x20;
export const OSSA_DESC_ERROR_OFFSET = 0x24;
export const OSSA_DESC_START_NS = 0x28;
export const OSSA_DESC_END_NS = 0x30;
export const OSSA_DESC_FLAG_IRQ = 0x1;

export const OSSA_JOB_OK = 0;
export const OSSA_JOB_INVALID_DESCRIPTOR = 1;
export const OSSA_JOB_INVALID_CONTEXT = 2;
export const OSSA_JOB_CONTEXT_STOPPED = 3;
export const OSSA_JOB_INVALID_COMMAND = 4;
export const OSSA_JOB_MMU_FAULT = 5;
export const OSSA_JOB_INJECTED_ERROR = 6;

export const OSSA_CTX_ENTRY_SIZE = 16;
export const OSSA_CTX_ROOT_VALID = 0x1;

export const OSSA_PAGE_SIZE = 4096;
export const OSSA_PT_ENTRIES = 512;
export const OSSA_PTE_VALID = 0x1;
export const OSSA_PTE_READ = 0x2;
export const OSSA_PTE_WRITE = 0x4;
export const OSSA_PTE_ADDR_BITS = 52;

export const OSSA_FAULT_NOT_PRESENT = 1;
export const OSSA_FAULT_PERMISSION = 2;
export const OSSA_FAULT_RESERVED = 3;
export const OSSA_FAULT_RANGE = 4;
export const OSSA_FAULT_WALK_ERROR = 5;
export const OSSA_FAULT_BUS_ERROR = 6;
export const OSSA_FAULT_INJECTED = 7;
export const OSSA_FAULT_INFO_CAUSE_SHIFT = 16;
export const OSSA_FAULT_INFO_CAUSE_MASK = 0xf0000;
export const OSSA_FAULT_INFO_WRITE = 0x200;
export const OSSA_FAULT_INFO_VALID = 0x80000000;

/** The job statuses by name (5.4). */
export const JOB_STATUS_NAMES: Readonly<Record<number, string>> = {
  [OSSA_JOB_OK]: 'OK',
  [OSSA_JOB_INVALID_DESCRIPTOR]: 'INVALID_DESCRIPTOR',
  [OSSA_JOB_INVALID_CONTEXT]: 'INVALID_CONTEXT',
  [OSSA_JOB_CONTEXT_STOPPED]: 'CONTEXT_STOPPED',
  [OSSA_JOB_INVALID_COMMAND]: 'INVALID_COMMAND',
  [OSSA_JOB_MMU_FAULT]: 'MMU_FAULT',
  [OSSA_JOB_INJECTED_ERROR]: 'INJECTED_ERROR',
};

/** The fault causes by name (7.4). */
export const FAULT_CAUSE_NAMES: Readonly<Record<number, string>> = {
  [OSSA_FAULT_NOT_PRESENT]: 'NOT_PRESENT',
  [OSSA_FAULT_PERMISSION]: 'PERMISSION',
  [OSSA_FAULT_RESERVED]: 'RESERVED',
  [OSSA_FAULT_RANGE]: 'RANGE',
  [OSSA_FAULT_WALK_ERROR]: 'WALK_ERROR',
  [OSSA_FAULT_BUS_ERROR]: 'BUS_ERROR',
  [OSSA_FAULT_INJECTED]: 'INJECTED',
};

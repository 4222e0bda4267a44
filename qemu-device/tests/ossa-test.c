/*
 * QTest testcase for the ossa sample accelerator
 *
 * The device's identity and registers, a FILL job run through a queue,
 * the device MMU and a context, and the fault of a job that writes
 * outside its context's mappings (docs/specs/ossa.rst).
 *
 * Copyright (c) 2026 The ossa developers
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "libqtest.h"
#include "libqos/pci.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "hw/misc/ossa/ossa_regs.h"

#define OSSA_DEVFN QPCI_DEVFN(0x4, 0)

/* Where the tests place the device's tables, in guest RAM above 16 MiB. */
#define CTX_TABLE   0x1000000
#define PT_L2       0x1001000
#define PT_L1       0x1002000
#define PT_L0       0x1003000
#define CMD_PAGE    0x1004000
#define DATA_PAGE   0x1005000
#define RING        0x1006000

/* The context's VAs of the command and the data page; VA 0x3000 is unmapped. */
#define CMD_VA      0x1000
#define DATA_VA     0x2000
#define UNMAPPED_VA 0x3000

#define FILL_VALUE  0x4f535341

/* Polls of Q_HEAD before a job counts as lost. */
#define HEAD_POLLS  100000

typedef struct OssaTest {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar;
} OssaTest;

static OssaTest ossa_start(void)
{
    OssaTest t;

    t.qts = qtest_init("-machine q35 -nodefaults -device ossa,addr=04.0");
    t.bus = qpci_new_pc(t.qts, NULL);
    t.dev = qpci_device_find(t.bus, OSSA_DEVFN);
    g_assert_nonnull(t.dev);
    qpci_device_enable(t.dev);
    t.bar = qpci_iomap(t.dev, OSSA_BAR_REGS, NULL);
    return t;
}

static void ossa_stop(OssaTest *t)
{
    qpci_iounmap(t->dev, t->bar);
    g_free(t->dev);
    qpci_free_pc(t->bus);
    qtest_quit(t->qts);
}

static uint32_t reg_read(OssaTest *t, uint64_t reg)
{
    return qpci_io_readl(t->dev, t->bar, reg);
}

static void reg_write(OssaTest *t, uint64_t reg, uint32_t value)
{
    qpci_io_writel(t->dev, t->bar, reg, value);
}

static void test_identity(void)
{
    OssaTest t = ossa_start();
    uint32_t caps;

    g_assert_cmphex(qpci_config_readw(t.dev, PCI_VENDOR_ID), ==,
                    OSSA_PCI_VENDOR_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_DEVICE_ID), ==,
                    OSSA_PCI_DEVICE_ID);
    g_assert_cmphex(qpci_config_readw(t.dev, PCI_CLASS_DEVICE), ==,
                    OSSA_PCI_CLASS_ACCELERATOR);
    g_assert_cmphex(reg_read(&t, OSSA_REG_ID), ==, OSSA_ID_MAGIC);
    g_assert_cmphex(reg_read(&t, OSSA_REG_VERSION), ==, OSSA_VERSION_VALUE);

    caps = reg_read(&t, OSSA_REG_CAPS);
    g_assert_cmpuint(caps & OSSA_CAPS_NUM_QUEUES_MASK, ==, OSSA_NUM_QUEUES);
    g_assert_cmpuint((caps & OSSA_CAPS_CONTEXTS_LOG2_MASK) >>
                     OSSA_CAPS_CONTEXTS_LOG2_SHIFT, ==, OSSA_CONTEXTS_LOG2);
    g_assert_cmpuint((caps & OSSA_CAPS_VA_BITS_MASK) >>
                     OSSA_CAPS_VA_BITS_SHIFT, ==, OSSA_VA_BITS);
    g_assert_cmpuint((caps & OSSA_CAPS_DMA_BITS_MASK) >>
                     OSSA_CAPS_DMA_BITS_SHIFT, ==, OSSA_DMA_BITS_MAX);
    ossa_stop(&t);
}

static void test_soft_reset(void)
{
    OssaTest t = ossa_start();

    reg_write(&t, OSSA_REG_SCRATCH, 0x12345678);
    reg_write(&t, OSSA_REG_CTX_TABLE_LO, CTX_TABLE);
    g_assert_cmphex(reg_read(&t, OSSA_REG_SCRATCH), ==, 0x12345678);
    g_assert_cmphex(reg_read(&t, OSSA_REG_CTX_TABLE_LO), ==, CTX_TABLE);

    /* Another value is ignored. */
    reg_write(&t, OSSA_REG_RESET, 0);
    g_assert_cmphex(reg_read(&t, OSSA_REG_SCRATCH), ==, 0x12345678);

    reg_write(&t, OSSA_REG_RESET, OSSA_RESET_MAGIC);
    g_assert_cmphex(reg_read(&t, OSSA_REG_SCRATCH), ==, 0);
    g_assert_cmphex(reg_read(&t, OSSA_REG_CTX_TABLE_LO), ==, 0);
    ossa_stop(&t);
}

/*
 * Context 0 maps the command page read-only at CMD_VA and the data page
 * read-write at DATA_VA; queue 0 gets a ring of four descriptors.
 */
static void setup_context_and_queue(OssaTest *t)
{
    uint64_t q = OSSA_REG_QUEUE(0);

    qtest_memset(t->qts, CTX_TABLE, 0, 7 * OSSA_PAGE_SIZE);
    qtest_writeq(t->qts, CTX_TABLE, PT_L2 | OSSA_CTX_ROOT_VALID);
    qtest_writeq(t->qts, PT_L2, PT_L1 | OSSA_PTE_VALID);
    qtest_writeq(t->qts, PT_L1, PT_L0 | OSSA_PTE_VALID);
    qtest_writeq(t->qts, PT_L0 + 8 * (CMD_VA >> OSSA_PAGE_SHIFT),
                 CMD_PAGE | OSSA_PTE_VALID | OSSA_PTE_READ);
    qtest_writeq(t->qts, PT_L0 + 8 * (DATA_VA >> OSSA_PAGE_SHIFT),
                 DATA_PAGE | OSSA_PTE_VALID | OSSA_PTE_READ | OSSA_PTE_WRITE);
    reg_write(t, OSSA_REG_CTX_TABLE_LO, CTX_TABLE);
    reg_write(t, OSSA_REG_CTX_TABLE_HI, 0);

    reg_write(t, q + OSSA_REG_Q_BASE_LO, RING);
    reg_write(t, q + OSSA_REG_Q_BASE_HI, 0);
    reg_write(t, q + OSSA_REG_Q_SIZE, 2);
    reg_write(t, q + OSSA_REG_Q_CONTROL, OSSA_Q_CONTROL_ENABLE);
    g_assert_cmphex(reg_read(t, q + OSSA_REG_Q_STATUS), ==,
                    OSSA_Q_STATUS_ENABLED);
}

/* Runs one FILL of a page at `dst` as job 0 of queue 0; returns its status. */
static uint32_t run_fill(OssaTest *t, uint64_t dst)
{
    uint64_t q = OSSA_REG_QUEUE(0);
    int i;

    qtest_writel(t->qts, CMD_PAGE, OSSA_CMD_FILL);
    qtest_writel(t->qts, CMD_PAGE + 4, FILL_VALUE);
    qtest_writeq(t->qts, CMD_PAGE + 8, dst);
    qtest_writeq(t->qts, CMD_PAGE + 16, OSSA_PAGE_SIZE);

    qtest_memset(t->qts, RING, 0, OSSA_DESC_SIZE);
    qtest_writel(t->qts, RING + OSSA_DESC_CONTEXT, 0);
    qtest_writeq(t->qts, RING + OSSA_DESC_CMD_ADDR, CMD_VA);
    qtest_writel(t->qts, RING + OSSA_DESC_CMD_SIZE, OSSA_CMD_FILL_SIZE);
    qtest_writel(t->qts, RING + OSSA_DESC_STATUS, 0xffffffff);
    reg_write(t, q + OSSA_REG_Q_TAIL, 1);

    for (i = 0; i < HEAD_POLLS && reg_read(t, q + OSSA_REG_Q_HEAD) != 1; i++) {
        /* the job runs from a bottom half of the main loop */
    }
    g_assert_cmpuint(reg_read(t, q + OSSA_REG_Q_HEAD), ==, 1);
    g_assert_cmphex(reg_read(t, q + OSSA_REG_Q_STATUS), ==,
                    OSSA_Q_STATUS_ENABLED);
    return qtest_readl(t->qts, RING + OSSA_DESC_STATUS);
}

static void test_fill_job(void)
{
    OssaTest t = ossa_start();
    g_autofree uint32_t *data = g_new(uint32_t, OSSA_PAGE_SIZE / 4);
    int i;

    setup_context_and_queue(&t);
    g_assert_cmpuint(run_fill(&t, DATA_VA), ==, OSSA_JOB_OK);

    qtest_memread(t.qts, DATA_PAGE, data, OSSA_PAGE_SIZE);
    for (i = 0; i < OSSA_PAGE_SIZE / 4; i++) {
        g_assert_cmphex(le32_to_cpu(data[i]), ==, FILL_VALUE);
    }
    g_assert_cmpuint(qtest_readl(t.qts, RING + OSSA_DESC_ERROR_OFFSET), ==, 0);
    g_assert_cmpuint(qtest_readq(t.qts, RING + OSSA_DESC_END_NS), >=,
                     qtest_readq(t.qts, RING + OSSA_DESC_START_NS));
    g_assert_cmphex(reg_read(&t, OSSA_REG_FAULT_INFO), ==, 0);
    ossa_stop(&t);
}

static void test_fault(void)
{
    OssaTest t = ossa_start();
    uint32_t info;

    setup_context_and_queue(&t);
    g_assert_cmpuint(run_fill(&t, UNMAPPED_VA), ==, OSSA_JOB_MMU_FAULT);
    g_assert_cmpuint(qtest_readl(t.qts, RING + OSSA_DESC_ERROR_OFFSET), ==, 0);

    info = reg_read(&t, OSSA_REG_FAULT_INFO);
    g_assert_cmphex(info & OSSA_FAULT_INFO_VALID, ==, OSSA_FAULT_INFO_VALID);
    g_assert_cmphex(info & OSSA_FAULT_INFO_WRITE, ==, OSSA_FAULT_INFO_WRITE);
    g_assert_cmpuint(info & OSSA_FAULT_INFO_CONTEXT_MASK, ==, 0);
    g_assert_cmpuint((info & OSSA_FAULT_INFO_CAUSE_MASK) >>
                     OSSA_FAULT_INFO_CAUSE_SHIFT, ==, OSSA_FAULT_NOT_PRESENT);
    g_assert_cmphex(reg_read(&t, OSSA_REG_FAULT_ADDR_LO), ==, UNMAPPED_VA);
    g_assert_cmphex(reg_read(&t, OSSA_REG_FAULT_ADDR_HI), ==, 0);
    g_assert_cmpuint(reg_read(&t, OSSA_REG_FAULT_COUNT), ==, 1);
    g_assert_cmphex(reg_read(&t, OSSA_REG_CTX_STOPPED_LO), ==, 1);
    g_assert_cmphex(reg_read(&t, OSSA_REG_IRQ_STATUS) & OSSA_IRQ_MMU_FAULT, ==,
                    OSSA_IRQ_MMU_FAULT);

    /* Nothing of the data page was written. */
    g_assert_cmphex(qtest_readl(t.qts, DATA_PAGE), ==, 0);
    ossa_stop(&t);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/ossa/identity", test_identity);
    qtest_add_func("/ossa/soft-reset", test_soft_reset);
    qtest_add_func("/ossa/fill-job", test_fill_job);
    qtest_add_func("/ossa/fault", test_fault);
    return g_test_run();
}

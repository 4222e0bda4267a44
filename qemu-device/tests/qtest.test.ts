/** Self-tests of the qtest/QMP client (independent of the device's registers). */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { DEVICE_QOM_PATH, QTest } from './qtest.js';

describe('qtest client', () => {
  let qt: QTest;
  beforeAll(async () => {
    qt = await QTest.start({ deviceOptions: '' });
  });
  afterAll(async () => {
    await qt?.close();
  });

  test('readl/writel, readq/writeq, readb/writeb on guest RAM', async () => {
    await qt.writel(0x100_0000, 0xdeadbeef);
    expect(await qt.readl(0x100_0000)).toBe(0xdeadbeef);
    await qt.writeq(0x100_0008, 0x0123_4567_89ab_cdefn);
    expect(await qt.readq(0x100_0008)).toBe(0x0123_4567_89ab_cdefn);
    expect(await qt.readb(0x100_0008)).toBe(0xef);
    await qt.writeb(0x100_0008, 0x5a);
    expect(await qt.readw(0x100_0008)).toBe(0xcd5a);
  });

  test('b64write/b64read round trip and memset', async () => {
    const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => (i * 7) & 0xff));
    await qt.write(0x110_0003, data);
    expect(await qt.read(0x110_0003, data.length)).toEqual(data);
    await qt.memset(0x110_0003, 100, 0xa5);
    expect(await qt.read(0x110_0003, 100)).toEqual(Buffer.alloc(100, 0xa5));
  });

  test('pipelined commands are answered in order', async () => {
    const writes = Array.from({ length: 500 }, (_, i) => qt.writel(0x120_0000 + 4 * i, i * 3));
    await Promise.all(writes);
    const reads = await Promise.all(Array.from({ length: 500 }, (_, i) => qt.readl(0x120_0000 + 4 * i)));
    expect(reads).toEqual(Array.from({ length: 500 }, (_, i) => i * 3));
  });

  test('clock_step advances the virtual clock by exactly the step', async () => {
    const t0 = await qt.clockStep(1);
    const t1 = await qt.clockStep(12_345);
    expect(t1 - t0).toBe(12_345n);
  });

  test('PCI configuration through 0xcf8/0xcfc: the q35 host bridge at 00.0', async () => {
    await qt.outl(0xcf8, 0x8000_0000);
    expect(await qt.inl(0xcfc)).toBe(0x29c0_8086);
  });

  test('a failing qtest command rejects', async () => {
    await expect(qt.command('no_such_command')).rejects.toThrow(/Unknown command/);
  });

  test('QMP: the device is at /machine/peripheral/ossa0', async () => {
    expect(await qt.qmp.qomGet(DEVICE_QOM_PATH, 'type')).toBe('ossa');
    const props = await qt.qmp.qomList(DEVICE_QOM_PATH);
    expect(props.map((p) => p.name)).toContain('realized');
  });

  test('QMP errors reject', async () => {
    await expect(qt.qmp.qomGet(DEVICE_QOM_PATH, 'no-such-property')).rejects.toThrow(/QMP error/);
  });
});

describe('qtest client lifetime', () => {
  test('a QEMU that fails to start rejects with its stderr', async () => {
    await expect(QTest.start({ deviceOptions: 'no-such-option=1' })).rejects.toThrow(/no-such-option|not found|Property/i);
  });

  test('close() kills QEMU; later commands reject', async () => {
    const qt = await QTest.start({ deviceOptions: '' });
    expect(qt.alive).toBe(true);
    await qt.close();
    expect(qt.alive).toBe(false);
    await expect(qt.readl(0)).rejects.toThrow(/closed/);
  });

  test('await using disposes', async () => {
    let kept: QTest | undefined;
    {
      await using qt = await QTest.start({ deviceOptions: '' });
      kept = qt;
      expect(await qt.readl(0x100_0000)).toBeTypeOf('number');
    }
    expect(kept.alive).toBe(false);
  });

  test('QEMU dying mid-session rejects pending commands with its stderr', async () => {
    const qt = await QTest.start({ deviceOptions: '' });
    try {
      await qt.qmp.execute('quit').catch(() => undefined);
      await expect(qt.readl(0x100_0000)).rejects.toThrow(/QEMU|closed|exited/);
      expect(qt.alive).toBe(false);
    } finally {
      await qt.close();
    }
  });
});

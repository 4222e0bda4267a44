/**
 * The edits the Linux series makes to files of the kernel tree, on small
 * inputs shaped like them: sorted insertion, Makefile alignment, the
 * MAINTAINERS entry among its kin and its sorted F: lines.
 */
import { describe, expect, test } from 'vitest';
import { addMaintainersEntry, addMaintainersFile, insertSorted, MAINTAINERS_TITLE, makefileLine } from '../lib/linux-series.js';

const KCONFIG = ['if DRM_ACCEL', '', 'source "drivers/accel/amdxdna/Kconfig"', 'source "drivers/accel/qaic/Kconfig"', '', 'endif'].join('\n');
const key = (l: string): string | undefined => /^source "drivers\/accel\/([^/]+)\/Kconfig"$/.exec(l)?.[1];

describe('insertSorted', () => {
  test('places the line before the first that sorts after it', () => {
    expect(insertSorted(KCONFIG, key, 'ossa', 'source "drivers/accel/ossa/Kconfig"', 'Kconfig').split('\n').slice(2, 5)).toEqual([
      'source "drivers/accel/amdxdna/Kconfig"',
      'source "drivers/accel/ossa/Kconfig"',
      'source "drivers/accel/qaic/Kconfig"',
    ]);
  });

  test('after the last when none sorts after it', () => {
    expect(insertSorted(KCONFIG, key, 'zzz', 'Z', 'Kconfig').split('\n')[4]).toBe('Z');
  });

  test('refuses a tree that has it already, or has nothing to sort it among', () => {
    expect(() => insertSorted(KCONFIG, key, 'qaic', 'x', 'Kconfig')).toThrow(/already has qaic/);
    expect(() => insertSorted('endif', key, 'ossa', 'x', 'Kconfig')).toThrow(/no line to place ossa among/);
  });
});

test("makefileLine aligns += as the file's other lines do", () => {
  const makefile = 'obj-$(CONFIG_DRM_ACCEL_ARM_ETHOSU)\t+= ethosu/\nobj-$(CONFIG_DRM_ACCEL_QAIC)\t\t+= qaic/';
  expect(makefileLine(makefile, 'DRM_ACCEL_OSSA', 'ossa')).toBe('obj-$(CONFIG_DRM_ACCEL_OSSA)\t\t+= ossa/');
  expect(makefileLine(makefile, 'DRM_ACCEL_LONGER_THAN_THE_COLUMN', 'x')).toBe('obj-$(CONFIG_DRM_ACCEL_LONGER_THAN_THE_COLUMN)\t+= x/');
});

describe('MAINTAINERS', () => {
  // An out-of-order pair early in the file brackets the title too.
  const maintainers = [
    'Descriptions of section entries', '',
    'ARM/LPC32XX SOC SUPPORT', 'M:\tA <a@example.org>', 'S:\tMaintained', '',
    'LPC32XX DMAMUX SUPPORT', 'M:\tB <b@example.org>', 'S:\tMaintained', '',
    'DRBD DRIVER', 'M:\tE <e@example.org>', 'S:\tSupported', '',
    'DRM ACCEL DRIVERS FOR INTEL VPU', 'M:\tC <c@example.org>', 'S:\tSupported', 'F:\tdrivers/accel/ivpu/', '',
    'DRM COMPUTE ACCELERATORS DRIVERS AND FRAMEWORK', 'M:\tD <d@example.org>', 'S:\tMaintained', '',
  ].join('\n');

  test('the entry goes among its kin, not between the first pair that brackets it', () => {
    const lines = addMaintainersEntry(maintainers, 'Your Name <your.name@example.org>', 'include/uapi/drm/ossa_accel.h').split('\n');
    const at = lines.indexOf(MAINTAINERS_TITLE);
    expect(lines[at - 4]).toBe('DRBD DRIVER');
    expect(lines[at + 7]).toBe('DRM ACCEL DRIVERS FOR INTEL VPU');
    expect(lines.slice(at, at + 7)).toEqual([
      MAINTAINERS_TITLE,
      'M:\tYour Name <your.name@example.org>',
      'L:\tdri-devel@lists.freedesktop.org',
      'S:\tMaintained',
      'T:\tgit https://gitlab.freedesktop.org/drm/misc/kernel.git',
      'F:\tinclude/uapi/drm/ossa_accel.h',
      '',
    ]);
  });

  test('F: lines stay sorted as the series adds them', () => {
    let text = addMaintainersEntry(maintainers, 'Y <y@example.org>', 'include/uapi/drm/ossa_accel.h');
    text = addMaintainersFile(text, 'drivers/accel/ossa/');
    text = addMaintainersFile(text, 'Documentation/accel/ossa/');
    const lines = text.split('\n');
    const at = lines.indexOf(MAINTAINERS_TITLE);
    expect(lines.slice(at + 5, at + 8)).toEqual(['F:\tDocumentation/accel/ossa/', 'F:\tdrivers/accel/ossa/', 'F:\tinclude/uapi/drm/ossa_accel.h']);
  });
});

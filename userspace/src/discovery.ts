/**
 * Finding accel devices without opening them: each /dev/accel node's
 * driver is read from sysfs through the node's device number
 * (/sys/dev/char/MAJOR:MINOR/device/driver), so that discovery never opens
 * another driver's node (which would create a context there).
 */
import { readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';

/** An accel device node and what sysfs says of it. */
export interface AccelNode {
  /** The node, e.g. /dev/accel/accel0. */
  path: string;
  /** The bound driver's name, e.g. "ossa"; undefined when none is bound. */
  driver: string | undefined;
  /** The parent device, e.g. the PCI address 0000:00:03.0; undefined if unknown. */
  busId: string | undefined;
}

const ACCEL_DIR = '/dev/accel';

/** The accel device nodes, in the order of their minor numbers. */
export function accelNodes(dir = ACCEL_DIR): AccelNode[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const nodes: Array<AccelNode & { minor: number }> = [];
  for (const name of names) {
    const path = join(dir, name);
    let rdev: number;
    try {
      const st = statSync(path);
      if (!st.isCharacterDevice()) continue;
      rdev = st.rdev;
    } catch {
      continue;
    }
    // Linux's new_encode_dev(): minor's low 8 bits, major, minor's high bits.
    const major = (rdev >>> 8) & 0xfff;
    const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00);
    const sys = `/sys/dev/char/${major}:${minor}/device`;
    nodes.push({ path, driver: linkName(join(sys, 'driver')), busId: deviceName(sys), minor });
  }
  return nodes.sort((a, b) => a.minor - b.minor || a.path.localeCompare(b.path)).map(({ minor: _, ...n }) => n);
}

function linkName(path: string): string | undefined {
  try {
    return basename(readlinkSync(path));
  } catch {
    return undefined;
  }
}

function deviceName(path: string): string | undefined {
  try {
    return basename(realpathSync(path));
  } catch {
    return undefined;
  }
}

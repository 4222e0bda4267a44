/**
 * The device's side of a trace: QEMU's ossa_* trace events, which the host
 * records on request over the control port (host-port.ts), stamped with
 * the host's clock; and the clock sync that places them on the guest's
 * CLOCK_MONOTONIC. The driver's debugfs file device_time reads the
 * device's time register (TIME_LO, then TIME_HI) between two reads of
 * CLOCK_MONOTONIC; QEMU traces each TIME_LO read with its value and the
 * host's time. A read seen on both sides bounds the offset between the
 * clocks: the host's stamp lies between the guest's two reads.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The device's TIME_LO register, as in qemu-device/ossa_regs.h (checked by a host test). */
export const REG_TIME_LO = 0x018;

/** One trace line of the device. */
export interface DeviceEvent {
  /**
   * The host's clock (CLOCK_REALTIME), in ns since the trace's first whole
   * second (a double holds today's time in ns only to 256 ns); microsecond
   * resolution.
   */
  hostTs: number;
  name: string;
  /** The event's "key value" arguments, as numbers. */
  args: Record<string, number>;
}

/**
 * A trace line of QEMU's log backend with timestamps (-msg timestamp=on):
 * "PID@SECONDS.MICROSECONDS:ossa_event key value ..." in QEMU 10.0;
 * "YYYY-MM-DDTHH:MM:SS[.ffffff]Z ossa_event key value ..." (qemu_log's own
 * ISO 8601 stamp, UTC) in QEMU 10.2.
 */
const LINE = /^(?:\d+@(\d+)\.(\d+):|(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z )(ossa_\w+)\s*(.*)$/;

export function parseDeviceEvents(lines: readonly string[]): DeviceEvent[] {
  const events: DeviceEvent[] = [];
  let epoch: number | undefined;
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, s, us, year, month, day, hour, minute, second, frac = '', name = '', rest = ''] = m;
    const wholeSeconds = s !== undefined ? Number(s) : Date.UTC(Number(year), Number(month) - 1, Number(day), Number(hour), Number(minute), Number(second)) / 1000;
    const micros = Number((s !== undefined ? (us ?? '') : frac).padEnd(6, '0').slice(0, 6));
    epoch ??= wholeSeconds;
    const args: Record<string, number> = {};
    // Multi-word keys ("error offset") keep their last word.
    for (const a of rest.matchAll(/(\w+) (0x[0-9a-f]+|\d+)\b/g)) args[a[1] as string] = Number(a[2]);
    events.push({ hostTs: (wholeSeconds - epoch) * 1e9 + micros * 1e3, name, args });
  }
  return events;
}

/** One read of device_time: CLOCK_MONOTONIC before and after, and the device's time, ns. */
export interface TimeSample {
  before: number;
  device: bigint;
  after: number;
}

export function readDeviceTime(debugfsDir: string): TimeSample[] {
  return readFileSync(join(debugfsDir, 'device_time'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([before = '0', device = '0', after = '0']) => ({ before: Number(before), device: BigInt(device), after: Number(after) }));
}

/** The host's clock minus the guest's, bounded; from one batch of samples. */
export interface ClockOffset {
  /** At this host time, the offset lies in [low, high] (ns). */
  hostTs: number;
  low: number;
  high: number;
  samples: number;
}

/**
 * The offset from one batch of device_time samples and the device's
 * TIME_LO reads: each sample found among the reads (by the low 32 bits of
 * the device's time) bounds it; the batch's bound is where all overlap.
 * Undefined when no sample is found or the bounds do not overlap.
 */
export function clockOffset(samples: readonly TimeSample[], events: readonly DeviceEvent[]): ClockOffset | undefined {
  const reads = events.filter((e) => e.name === 'ossa_reg_read' && e.args.addr === REG_TIME_LO);
  let low = -Infinity;
  let high = Infinity;
  let found = 0;
  let hostTs = 0;
  for (const s of samples) {
    const lo32 = Number(s.device & 0xffffffffn);
    const read = reads.find((r) => r.args.val === lo32);
    if (!read) continue;
    found++;
    hostTs = read.hostTs;
    // The host stamps within [before, after] on the guest's clock; the
    // stamp itself is floored to the microsecond.
    low = Math.max(low, read.hostTs - s.after);
    high = Math.min(high, read.hostTs + 1000 - s.before);
  }
  return found && low <= high ? { hostTs, low, high, samples: found } : undefined;
}

/** Maps the host's times to the guest's, from a batch before and one after (linear between their midpoints). */
export function hostToGuest(first: ClockOffset, last: ClockOffset | undefined): (hostTs: number) => number {
  const mid = (o: ClockOffset): number => (o.low + o.high) / 2;
  if (!last || last.hostTs === first.hostTs) return (h) => h - mid(first);
  const slope = (mid(last) - mid(first)) / (last.hostTs - first.hostTs);
  return (h) => h - (mid(first) + slope * (h - first.hostTs));
}

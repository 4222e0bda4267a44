/** The BAR0 register map of docs/hardware.md sections 4, 5 and 12, as offsets. */
import { R } from './regs.js';

/** Every offset the datasheet lists (fault-injection ones present: fault-injection=on). */
export function listedOffsets(withInjection: boolean): Set<number> {
  const s = new Set<number>([
    R.REG_ID, R.REG_VERSION, R.REG_CAPS, R.REG_RESET, R.REG_SCRATCH, R.REG_TIME_LO, R.REG_TIME_HI,
    R.REG_IRQ_STATUS, R.REG_IRQ_MASK, R.REG_CTX_TABLE_LO, R.REG_CTX_TABLE_HI, R.REG_CTX_STOPPED_LO,
    R.REG_CTX_STOPPED_HI, R.REG_FAULT_ADDR_LO, R.REG_FAULT_ADDR_HI, R.REG_FAULT_INFO, R.REG_FAULT_COUNT,
  ]);
  if (withInjection) {
    for (const r of [R.REG_INJECT_HANG, R.REG_INJECT_FAIL, R.REG_INJECT_DELAY_US, R.REG_INJECT_FAULT_LO, R.REG_INJECT_FAULT_HI]) s.add(r);
  }
  for (let q = 0; q < R.NUM_QUEUES; q += 1) {
    for (const r of [R.REG_Q_BASE_LO, R.REG_Q_BASE_HI, R.REG_Q_SIZE, R.REG_Q_CONTROL, R.REG_Q_TAIL, R.REG_Q_HEAD, R.REG_Q_STATUS]) {
      s.add(R.REG_QUEUE(q) + r);
    }
  }
  return s;
}

export function unlistedOffsets(withInjection: boolean): number[] {
  const listed = listedOffsets(withInjection);
  const out: number[] = [];
  for (let off = 0; off < R.REGS_SIZE; off += 4) if (!listed.has(off)) out.push(off);
  return out;
}

/**
 * kmemleak on the debug kernel: a scan, and the reports it adds. kmemleak
 * reports an object only once it has been unreferenced for 5 s, so a scan
 * after a file sees that file's leaks only if they are old enough; the
 * guest runner scans once more at the end of the suite, after waiting.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const KMEMLEAK = '/sys/kernel/debug/kmemleak';

export function kmemleakAvailable(): boolean {
  return existsSync(KMEMLEAK);
}

/**
 * Scans, returns the new reports (empty when none), and marks them seen so
 * that the next scan reports only newer leaks.
 */
export function kmemleakScan(): string {
  writeFileSync(KMEMLEAK, 'scan');
  const reports = readFileSync(KMEMLEAK, 'utf8').trim();
  writeFileSync(KMEMLEAK, 'clear');
  return reports;
}

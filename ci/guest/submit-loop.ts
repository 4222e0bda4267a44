/**
 * A NOP submit loop for the benchmark's CPU profile of the library's
 * submit path (node --cpu-prof): 50 jobs of warm-up, then 300 measured.
 */
import { CommandStream, Device } from '../../userspace/src/index.js';

using dev = Device.open();
using bo = dev.createBuffer(4096);
for (let i = 0; i < 350; i++) {
  using f = dev.submit({ commands: new CommandStream().nop(), buffers: [bo] });
  const s = await f.settle(60_000);
  if (s.state !== 'signaled') throw new Error(`job ${JSON.stringify(s)}`);
}

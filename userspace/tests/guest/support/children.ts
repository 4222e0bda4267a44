/**
 * The kit's child processes (src/accel-core/children.ts) with the ossa
 * library in reach: besides `id`, `report` and `released`, each script
 * can use `lib` (the library, src/index.js) and `native` (the binding).
 */
import { type ChildrenOptions, runChildren as runKitChildren } from '../../../src/accel-core/children.js';

const PRELUDE = `
const lib = await import(process.env.OSSA_LIB);
const { native } = await import(new URL('native.js', process.env.OSSA_LIB).href);
`;

export async function runChildren(script: string, count: number, options: Omit<ChildrenOptions, 'prelude'> = {}): Promise<unknown[]> {
  return runKitChildren(script, count, {
    ...options,
    prelude: PRELUDE,
    env: { ...options.env, OSSA_LIB: new URL('../../../src/index.js', import.meta.url).href },
  });
}

/**
 * unrenderedConstants(): what the uapi header's kernel-doc would leave out.
 * The header itself is checked by `npm run check` (ci/tests/style.test.ts).
 */
import { describe, expect, test } from 'vitest';
import { unrenderedConstants } from '../lib/checks.js';

const header = `
#define DRM_OSSA_GET_PARAM 0x00
#define DRM_IOCTL_OSSA_GET_PARAM DRM_IOWR(DRM_COMMAND_BASE + DRM_OSSA_GET_PARAM, struct x)
/** @DRM_OSSA_PARAM_OLD: a macro's comment kernel-doc drops */
#define DRM_OSSA_PARAM_OLD 7
enum drm_ossa_x {
	/** @DRM_OSSA_X_A: described */
	DRM_OSSA_X_A = 0,
	DRM_OSSA_X_B = 1,
};
`;

const rst = `
    **Constants**

    \`\`DRM_OSSA_X_A\`\`
      described

    \`\`DRM_OSSA_X_B\`\`
    *undescribed*
`;

describe('uapi constants in kernel-doc', () => {
  test('a macro constant and an enumerator without a description are named; the ioctl numbers are not', () => {
    expect(unrenderedConstants(header, rst)).toEqual([
      'DRM_OSSA_PARAM_OLD: a macro, which kernel-doc does not render: make it an enumerator',
      'DRM_OSSA_X_B: not rendered with a description',
    ]);
  });

  test('a header of described enumerators has nothing to report', () => {
    const good = header.replace(/\/\*\* @DRM_OSSA_PARAM_OLD.*\n#define DRM_OSSA_PARAM_OLD 7\n/, '').replace('\tDRM_OSSA_X_B = 1,\n', '');
    expect(unrenderedConstants(good, rst)).toEqual([]);
  });
});

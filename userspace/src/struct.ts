/**
 * C struct layouts for ioctl arguments: fields of fixed-width integers laid
 * out with the x86_64 C ABI's natural alignment. Each uapi struct is
 * declared once (uapi.ts, drm.ts) and checked against the C headers by a
 * host test that compiles them.
 */

/** Integers, or a char/byte array of N bytes (`u8[N]`). */
export type FieldType = 'u32' | 's32' | 'u64' | 's64' | `u8[${number}]`;

/** The size of a field of this type. */
export function fieldSize(type: FieldType): number {
  switch (type) {
    case 'u32':
    case 's32':
      return 4;
    case 'u64':
    case 's64':
      return 8;
    default:
      return Number(type.slice(3, -1));
  }
}

const fieldAlign = (type: FieldType): number => (type.startsWith('u8[') ? 1 : fieldSize(type));

export interface Field {
  readonly offset: number;
  readonly type: FieldType;
}

export interface StructDef<F extends string> {
  /** The C name, e.g. drm_syncobj_create. */
  readonly name: string;
  readonly size: number;
  readonly fields: Readonly<Record<F, Field>>;
}

/** Lays out a struct's fields in order, as a C compiler would. */
export function defineStruct<const F extends string>(
  name: string,
  fields: ReadonlyArray<readonly [F, FieldType]>,
): StructDef<F> {
  let offset = 0;
  let align = 1;
  const out = {} as Record<F, Field>;
  for (const [field, type] of fields) {
    const a = fieldAlign(type);
    offset = Math.ceil(offset / a) * a;
    out[field] = { offset, type };
    offset += fieldSize(type);
    align = Math.max(align, a);
  }
  return { name, size: Math.ceil(offset / align) * align, fields: out };
}

/** An instance of a struct in a buffer that can be handed to an ioctl. */
export class Struct<F extends string> {
  readonly bytes: Buffer;
  /** Field access through DataView: V8 inlines it, unlike Buffer's 64-bit readers. */
  readonly #view: DataView;

  constructor(
    readonly def: StructDef<F>,
    bytes?: Buffer,
  ) {
    if (bytes && bytes.length < def.size) {
      throw new RangeError(`${def.name}: ${bytes.length} bytes given, ${def.size} needed`);
    }
    this.bytes = bytes ?? Buffer.alloc(def.size);
    this.#view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** A struct with the given fields set and the rest zero. */
  static from<F extends string>(def: StructDef<F>, values: Partial<Record<F, number | bigint>>): Struct<F> {
    const s = new Struct(def);
    for (const [field, value] of Object.entries(values) as Array<[F, number | bigint]>) s.set(field, value);
    return s;
  }

  set(field: F, value: number | bigint): this {
    const { offset, type } = this.def.fields[field];
    switch (type) {
      case 'u32':
        this.#view.setUint32(offset, Number(value), true);
        break;
      case 's32':
        this.#view.setInt32(offset, Number(value), true);
        break;
      case 'u64':
        this.#view.setBigUint64(offset, BigInt.asUintN(64, BigInt(value)), true);
        break;
      case 's64':
        this.#view.setBigInt64(offset, BigInt.asIntN(64, BigInt(value)), true);
        break;
      default:
        throw new TypeError(`${this.def.name}.${field} is a byte array: use bytesOf()`);
    }
    return this;
  }

  /** The bytes of a byte-array field (a view, not a copy). */
  bytesOf(field: F): Buffer {
    const { offset, type } = this.def.fields[field];
    return this.bytes.subarray(offset, offset + fieldSize(type));
  }

  /** A field's value as a bigint, whatever its width. */
  big(field: F): bigint {
    const { offset, type } = this.def.fields[field];
    switch (type) {
      case 'u32':
        return BigInt(this.#view.getUint32(offset, true));
      case 's32':
        return BigInt(this.#view.getInt32(offset, true));
      case 'u64':
        return this.#view.getBigUint64(offset, true);
      case 's64':
        return this.#view.getBigInt64(offset, true);
      default:
        throw new TypeError(`${this.def.name}.${field} is a byte array: use bytesOf()`);
    }
  }

  /** A field's value as a number; throws if it does not fit exactly. */
  num(field: F): number {
    const { offset, type } = this.def.fields[field];
    if (type === 'u32') return this.#view.getUint32(offset, true);
    if (type === 's32') return this.#view.getInt32(offset, true);
    const v = this.big(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new RangeError(`${this.def.name}.${field} = ${v} does not fit a number`);
    }
    return Number(v);
  }
}

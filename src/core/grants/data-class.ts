/**
 * Data classes, least to most sensitive: the one order every part compares by. A grant's
 * `data_class: c` means "may touch data up to class c"; a catalog action names the class it touches;
 * Cedar policies compare ranks (`context.dataClassRank`).
 */
export const DATA_CLASSES = ['public', 'internal', 'confidential', 'restricted'] as const;
export type DataClass = (typeof DATA_CLASSES)[number];

/** Each class's rank: its position in {@link DATA_CLASSES}. */
export const DATA_CLASS_RANK: Readonly<Record<DataClass, number>> = Object.freeze(
  Object.fromEntries(DATA_CLASSES.map((c, i) => [c, i])) as Record<DataClass, number>,
);

/** The rank of a data class in {@link DATA_CLASSES}, or -1 when it is not one. */
export function dataClassRank(value: unknown): number {
  return typeof value === 'string' ? (DATA_CLASSES as readonly string[]).indexOf(value) : -1;
}

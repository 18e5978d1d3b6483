export type * from './ast.js';
export type * from './instruction-types.js';
export { INSTRUCTION_KINDS } from './instruction-types.js';
export { parseInstruction, VALID_STAGE_NAME, type InstructionSource } from './instructions.js';
export { toStages } from './stages.js';
export { EXPANDABLE_FIELDS, expandInstruction, type WordExpander, type ExpandOptions } from './expand.js';
export { parseMountSpec, resolveMount, csvFields, ramInBytes, MOUNT_TYPES, CACHE_SHARING, MountSpecError, type RunMount, type MountType, type CacheSharing } from './mount.js';
export { parseGoDuration, formatGoDuration } from './duration.js';
export { levenshtein, suggest } from './suggest.js';

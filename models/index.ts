/** The models/ public surface: loading, building from a weight provider, and the Model API types. */
export { loadModel, folderProvider, type LoadOptions } from './load.ts';
export { DecoderModel, type BuildOptions } from './decoder-model.ts';
export { syntheticConfig, syntheticProvider, type SyntheticShape } from './synthetic.ts';
export type { WeightProvider, NormWeights } from './weight-provider.ts';
export { allHookNames, globToRegExp } from './hook-names.ts';
export type * from './types.ts';
export { familyDescriptor, familyOf, FAMILY_DESCRIPTORS } from './families.ts';
export type { FamilyDescriptor } from './family.ts';

/**
 * Typed errors. Every user-facing failure is a GlassboxError whose message names the file / tensor / field
 * and the problem in one line; the CLI prints `message` alone (exit 1) unless --debug is given.
 * Anything that is not a GlassboxError is a bug in Glassbox and is printed with its stack.
 */
export class GlassboxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Malformed or unreadable safetensors file/header/index. */
export class SafetensorsError extends GlassboxError {}

/** config.json missing, malformed, inconsistent, or describing an unsupported model. */
export class ConfigError extends GlassboxError {}

/** A model folder that cannot be used (no weights, missing shard/tensor, bad tokenizer files, ...). */
export class ModelFolderError extends GlassboxError {}

/** Bad command-line usage or bad user-provided input file (prompt lists, direction folders, ...). */
export class UsageError extends GlassboxError {}

/** A NaN/Inf was found in an activation; names the hook point. */
export class NonFiniteError extends GlassboxError {}

/** The user interrupted long work (SIGINT). */
export class InterruptedError extends GlassboxError {}

/** Arrays handed to a kernel disagree with the dims it was given (names the op and the argument). */
export class ShapeError extends GlassboxError {}

/** A model (or its KV cache) does not fit the GPU's memory; the message names the sizes. */
export class GpuMemoryError extends GlassboxError {}

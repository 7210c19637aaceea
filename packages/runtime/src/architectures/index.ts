import { ModelConfigError } from '../errors.js';
import { readKey } from '../model/config.js';
import type { ModelMetadata } from '@smallmind/io-smq';
import type { AnyArchitecture } from './architecture.js';
import { bert } from './bert.js';
import { gemma2 } from './gemma2.js';
import { gemma3 } from './gemma3.js';
import { gpt2 } from './gpt2.js';
import { granite } from './granite.js';
import { llama } from './llama.js';
import { nomicBert } from './nomic-bert.js';
import { phi3 } from './phi3.js';
import { qwen2 } from './qwen2.js';
import { qwen3 } from './qwen3.js';
import { smollm3 } from './smollm3.js';

export type { AnyArchitecture, Architecture } from './architecture.js';

/** Every family the runtime runs, by `general.architecture`. A new family is a module and a line here. */
const registry: ReadonlyMap<string, AnyArchitecture> = new Map(
  [llama, qwen2, qwen3, gemma2, gemma3, gpt2, phi3, granite, smollm3, bert, nomicBert].map((a) => [a.name, a as AnyArchitecture]),
);

/** Names of the supported architectures. */
export function supportedArchitectures(): string[] {
  return [...registry.keys()];
}

/** The module for `name`; throws `ModelConfigError` (UNSUPPORTED_ARCHITECTURE) listing the supported ones. */
export function architectureByName(name: string): AnyArchitecture {
  const architecture = registry.get(name);
  if (architecture === undefined) {
    throw new ModelConfigError('UNSUPPORTED_ARCHITECTURE', 'general.architecture', `model config: architecture "${name}" is not supported (supported: ${supportedArchitectures().join(', ')})`);
  }
  return architecture;
}

/** The module for a file's `general.architecture`. */
export function architectureOf(metadata: ModelMetadata): AnyArchitecture {
  const key = 'general.architecture';
  return architectureByName(readKey(key, () => metadata.getString(key)));
}

/**
 * `smallmind embed <model> [texts...]`: one embedding per text (or per stdin line when no text is given),
 * printed as one JSON object: `{ model, architecture, pooling, dimensions, promptTokens, embeddings: [{ text,
 * tokens, embedding }] }`. The CLI adds it with `registerEmbedCommand(program, out)`.
 */
import { Option, type Command } from 'commander';
import type { EmbedPooling } from '@smallmind/runtime';
import { addEngineFlags, loadEngine, printJson, readStdin, type EngineFlags, type Output } from './cli-shared.js';

export interface EmbedFlags extends EngineFlags {
  pooling?: EmbedPooling;
  normalize: boolean;
  truncate?: boolean;
}

/** Embeds `texts` (stdin lines when empty) with `model` and prints the JSON object. */
export async function embedCommand(out: Output, model: string, texts: readonly string[], flags: EmbedFlags): Promise<void> {
  const inputs = texts.length > 0 ? texts : (await readStdin('text')).split(/\r?\n/).filter((line) => line.length > 0);
  const { engine, info } = await loadEngine(out, model, flags);
  try {
    const result = await engine.embed(inputs, {
      normalize: flags.normalize,
      ...(flags.pooling === undefined ? {} : { pooling: flags.pooling }),
      ...(flags.truncate === undefined ? {} : { truncate: flags.truncate }),
    });
    printJson({
      model,
      architecture: info.architecture,
      pooling: result.pooling,
      dimensions: info.embedding.length,
      promptTokens: result.promptTokens,
      embeddings: inputs.map((text, i) => ({ text, tokens: result.tokens[i], embedding: Array.from(result.embeddings[i]!) })),
    });
  } finally {
    await engine.dispose();
  }
}

export function registerEmbedCommand(program: Command, out: () => Output): void {
  addEngineFlags(
    program
      .command('embed')
      .description("embedding vectors of texts as JSON (bert, nomic-bert, or a decoder with a pooling type; one text per stdin line when none is given)")
      .argument('<model>', 'model file (.gguf is imported once into the cache)')
      .argument('[texts...]', 'texts to embed')
      .addOption(new Option('--pooling <kind>', "pooling instead of the file's pooling_type").choices(['mean', 'cls', 'last']))
      .option('--no-normalize', 'print the raw pooled vectors (llama.cpp\'s) instead of L2-normalised ones')
      .option('--truncate', "cut inputs longer than the model's context instead of failing"),
  ).action((model: string, texts: string[], flags: EmbedFlags) => embedCommand(out(), model, texts, flags));
}

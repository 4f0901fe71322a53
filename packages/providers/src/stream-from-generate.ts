import { toProviderError } from '@orchex/core';
import type { LanguageModel, StreamPart } from './language-model.ts';

/** A model as a plugin may build it: doStream is optional, since plugins written before streaming have none. */
export type PluginLanguageModel = Omit<LanguageModel, 'doStream'> & Partial<Pick<LanguageModel, 'doStream'>>;

/**
 * `model` with a doStream: its own when it has one, else one over doGenerate that yields the whole answer as a
 * single delta once it is complete. Such a stream cannot fail after output (the failure comes from doStream()),
 * only its time to first token is the whole call's.
 */
export function withStreaming(model: PluginLanguageModel): LanguageModel {
  if (model.doStream) return model as LanguageModel;
  return {
    provider: model.provider,
    modelName: model.modelName,
    modelId: model.modelId,
    doGenerate: (options) => model.doGenerate(options),
    async doStream(options) {
      let result: Awaited<ReturnType<LanguageModel['doGenerate']>>;
      try {
        result = await model.doGenerate(options);
      } catch (error) {
        // Plugins reject with plain errors carrying a kind; doStream promises ProviderErrors.
        throw toProviderError(error, model.provider, model.modelName);
      }
      return (async function* (): AsyncGenerator<StreamPart> {
        if (result.content) yield { type: 'text-delta', text: result.content };
        yield { type: 'finish', ...result };
      })();
    },
  };
}

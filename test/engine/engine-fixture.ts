/** Shared setup of the engine tests: an Engine over the fake model, and helpers to read a request's events. */
import { Engine, type EngineEvent, type EngineOptions, type RequestHandle } from "../../lib/engine/engine";
import { validateSamplingParams } from "../../lib/engine/sampling-params";
import { FakeModel, type FakeModelOptions } from "./fake-model";

export const VOCAB = 1256;
export const greedy = validateSamplingParams({ temperature: 0, seed: 7 });

export function setup(
  engine: Partial<Omit<EngineOptions, "runStep">> = {},
  fake: Partial<FakeModelOptions> = {},
): { engine: Engine; fake: FakeModel } {
  const numBlocks = engine.numBlocks ?? 32;
  const blockSize = engine.blockSize ?? 4;
  const model = new FakeModel({ vocab: VOCAB, numBlocks, blockSize, ...fake });
  return {
    fake: model,
    engine: new Engine({
      runStep: model.runStep,
      numBlocks,
      blockSize,
      vocabSize: VOCAB,
      eosId: 2,
      maxContext: 256,
      ...engine,
    }),
  };
}

export async function collect(handle: RequestHandle): Promise<EngineEvent[]> {
  const events: EngineEvent[] = [];
  for await (const ev of handle) events.push(ev);
  return events;
}

export const tokensOf = (events: EngineEvent[]) => events.flatMap((e) => (e.type === "token" ? [e.id] : []));
export const finishOf = (events: EngineEvent[]) => events.find((e) => e.type === "finish");
export const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

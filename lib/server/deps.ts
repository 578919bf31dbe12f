/** What every route needs: the model, the resolved options, admission, metrics. */
import type { Model } from "../model/model";
import type { Admission } from "./admission";
import type { ChoiceStream } from "./choices";
import { HttpError } from "./errors";
import type { ServerMetrics } from "./metrics/server-metrics";
import type { ResolvedOptions } from "./options";
import type { RequestContext } from "./request-context";

export interface ServerDeps {
  readonly model: Model;
  readonly options: ResolvedOptions;
  readonly admission: Admission;
  readonly metrics: ServerMetrics;
}

/** The served name a request asked for (the first served name when it names none); unknown names are a 404. */
export function servedName(deps: ServerDeps, requested: string | null | undefined): string {
  const names = deps.options.servedModelNames;
  if (requested == null || requested === "") return names[0]!;
  if (names.includes(requested)) return requested;
  throw new HttpError(
    404,
    "not_found_error",
    `The model \`${requested}\` does not exist`,
    "model",
    "model_not_found",
  );
}

/** Records time to first token (from the request's arrival) for each choice. */
export function recordFirstTokens(
  deps: ServerDeps,
  ctx: RequestContext,
  choices: readonly ChoiceStream[],
): void {
  for (const c of choices) deps.metrics.timeToFirstToken.observe((c.firstEventAt - ctx.startedAt) / 1000);
}

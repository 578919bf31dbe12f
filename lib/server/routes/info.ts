/** Routes that answer from what the server knows: models, health, version, metrics. */
import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { packageRoot } from "../../native";
import { HttpError } from "../errors";
import { sendJson, sendText } from "../http/respond";
import type { Route } from "./generation-route";

const startedAt = Math.floor(Date.now() / 1000);

function modelCard(name: string, deps: Parameters<Route>[1]) {
  return {
    id: name,
    object: "model",
    created: startedAt,
    owned_by: "mistral4-runtime",
    root: basename(deps.model.dir),
    parent: null,
    max_model_len: deps.model.kv.maxContext,
  };
}

export const listModels: Route = async (ctx, deps) => {
  sendJson(ctx.res, 200, {
    object: "list",
    data: deps.options.servedModelNames.map((n) => modelCard(n, deps)),
  });
};

export const retrieveModel: Route = async (ctx, deps) => {
  const raw = ctx.url.pathname.slice("/v1/models/".length);
  let name: string;
  try {
    name = decodeURIComponent(raw);
  } catch {
    name = raw; // not valid percent-encoding: no served name looks like that
  }
  if (!deps.options.servedModelNames.includes(name))
    throw new HttpError(
      404,
      "not_found_error",
      `The model \`${name}\` does not exist`,
      "model",
      "model_not_found",
    );
  sendJson(ctx.res, 200, modelCard(name, deps));
};

export const health: Route = async (ctx) => {
  sendJson(ctx.res, 200, { status: "ok" });
};

let version: string | undefined;

export const versionRoute: Route = async (ctx) => {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string })
    .version;
  sendJson(ctx.res, 200, { version });
};

export const metrics: Route = async (ctx, deps) => {
  sendText(ctx.res, 200, deps.metrics.render(), "text/plain; version=0.0.4; charset=utf-8");
};

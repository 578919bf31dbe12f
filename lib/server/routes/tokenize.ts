/**
 * `POST /tokenize` and `POST /detokenize` (vLLM's shapes): the token ids of a text (BOS first unless
 * `add_special_tokens: false`) or of a chat rendered exactly as /v1/chat/completions renders it, and the
 * text of token ids.
 */

import { servedName } from "../deps";
import { badRequest, toHttpError } from "../errors";
import { readJsonObject } from "../http/body";
import { sendJson } from "../http/respond";
import { reasoningEffort, toLibraryTool } from "../openai/chat-request";
import { toLibraryMessages } from "../openai/messages";
import { parseBody } from "../openai/parse-body";
import { detokenizeBody, tokenizeBody } from "../openai/schemas";
import type { Route } from "./generation-route";

export const tokenize: Route = async (ctx, deps) => {
  const body = parseBody(tokenizeBody, await readJsonObject(ctx.req, deps.options.maxBodyBytes));
  servedName(deps, body.model);
  const { model } = deps;
  if ((body.prompt == null) === (body.messages == null))
    throw badRequest(
      "Expected exactly one of prompt or messages",
      body.prompt == null ? "prompt" : "messages",
    );
  let tokens: number[];
  try {
    if (body.prompt != null) {
      const ids = model.tokenizer.encode(body.prompt);
      tokens = body.add_special_tokens === false ? ids : [model.tokenizer.bosId, ...ids];
    } else {
      const messages = await toLibraryMessages(body.messages!, deps.options.media, ctx.signal);
      tokens = model.renderChat({
        messages,
        ...(body.tools != null ? { tools: body.tools.map(toLibraryTool) } : {}),
        ...(body.reasoning_effort != null ? { reasoningEffort: reasoningEffort(body.reasoning_effort) } : {}),
      }).tokens;
    }
  } catch (error) {
    throw toHttpError(error);
  }
  sendJson(ctx.res, 200, {
    count: tokens.length,
    max_model_len: model.kv.maxContext,
    tokens,
    ...(body.return_token_strs === true
      ? { token_strs: tokens.map((t) => model.tokenizer.decode([t], { specialTokens: "keep" })) }
      : {}),
  });
};

export const detokenize: Route = async (ctx, deps) => {
  const body = parseBody(detokenizeBody, await readJsonObject(ctx.req, deps.options.maxBodyBytes));
  servedName(deps, body.model);
  const vocab = deps.model.tokenizer.vocabSize;
  body.tokens.forEach((t, i) => {
    if (t < 0 || t >= vocab)
      throw badRequest(
        `Expected a token id in [0, ${vocab}) for tokens[${i}] but received ${t}`,
        `tokens[${i}]`,
      );
  });
  sendJson(ctx.res, 200, { prompt: deps.model.tokenizer.decode(body.tokens) });
};

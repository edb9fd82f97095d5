#!/usr/bin/env python3
"""A minimal FastAPI + uvicorn mock of vLLM's OpenAI completions API, for bench/openai.sh.

The lean Python peer (GuideLLM's mock server is the other): /v1/models and
/v1/completions, non-streaming and streaming (SSE, one `data:` chunk per token, a final
chunk with finish_reason and `data: [DONE]`), in vLLM 0.6's response shapes. Tokens are a
fixed word list (no tokenizer, no text generation): every request costs only what the
framework and JSON cost. `max_tokens` tokens are returned (with "ignore_eos" as vLLM
would); --itl-ms sleeps between streamed tokens (0: none), --ttft-ms before the first.

  mock_openai.py --port P [--itl-ms 0] [--ttft-ms 0] [--model mistral-7b-awq]

uvicorn runs one worker with uvloop and httptools when installed, access log off.
"""
import argparse
import asyncio
import json
import time
import uuid

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

WORDS = ["The", " model", " answers", " the", " question", " with", " a", " short", " reply", "."]


def build(args):
    app = FastAPI()

    @app.get("/health")
    async def health():
        return JSONResponse({})

    @app.get("/v1/models")
    async def models():
        return {"object": "list", "data": [{"id": args.model, "object": "model", "created": int(time.time()),
                                            "owned_by": "vllm", "root": args.model, "parent": None,
                                            "max_model_len": 4096}]}

    @app.post("/v1/completions")
    async def completions(request: Request):
        req = await request.json()
        n = int(req.get("max_tokens") or 16)
        prompt_tokens = max(1, len(str(req.get("prompt", "")).split()))
        rid = f"cmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        model = req.get("model", args.model)
        usage = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens + n, "completion_tokens": n}
        if not req.get("stream"):
            if args.request_latency:
                await asyncio.sleep(args.request_latency)
            text = "".join(WORDS[i % len(WORDS)] for i in range(n))
            return {"id": rid, "object": "text_completion", "created": created, "model": model,
                    "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": "length",
                                 "stop_reason": None, "prompt_logprobs": None}],
                    "usage": usage}

        async def stream():
            if args.ttft_ms:
                await asyncio.sleep(args.ttft_ms / 1000)
            for i in range(n):
                if i and args.itl_ms:
                    await asyncio.sleep(args.itl_ms / 1000)
                last = i == n - 1
                chunk = {"id": rid, "object": "text_completion", "created": created, "model": model,
                         "choices": [{"index": 0, "text": WORDS[i % len(WORDS)], "logprobs": None,
                                      "finish_reason": "length" if last else None,
                                      "stop_reason": None}]}
                yield f"data: {json.dumps(chunk)}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream")

    return app


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--model", default="mistral-7b-awq")
    ap.add_argument("--itl-ms", type=float, default=0)
    ap.add_argument("--ttft-ms", type=float, default=0)
    ap.add_argument("--request-latency", type=float, default=0, help="seconds, non-streaming")
    args = ap.parse_args()
    uvicorn.run(build(args), host=args.host, port=args.port, log_level="warning", access_log=False)

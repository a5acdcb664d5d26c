"""The served model's OpenAI routes, which the serving library answers (openai_api.py) and `make smoke`
calls (openai_smoke.py). Imports nothing: the tooling uses them too."""

# Where KServe's own OpenAI data plane puts them (kserve 0.21 protocol/rest/openai/endpoints.py
# OPENAI_ROUTE_PREFIX), so an OpenAI client needs only `base_url=<endpoint>/openai/v1`.
OPENAI_PREFIX = "/openai/v1"
# Its inference routes, by the task each serves; the model is named in the body, not the path.
OPENAI_TASK_ROUTES = {
    f"{OPENAI_PREFIX}/embeddings": "embeddings",
    f"{OPENAI_PREFIX}/completions": "text-generation",
    f"{OPENAI_PREFIX}/chat/completions": "text-generation",
}

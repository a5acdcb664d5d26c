"""kserve-kit's serving library: what every KServe Python model server of the platform runs with.

It goes into the service's image (`kserve-kit[serving]`, run-time dependencies only) from the same
kit commit as the tooling; the service's own package holds only its model. Its parts:

    server     `serve(ModelClass)`: the start-up the ServingRuntime's arguments drive
    quota      the container's CPU quota and memory limit; thread pools sized to it (before numpy loads)
    workers    one server process per CPU on one port; their metrics served together
    guards     what KServe lacks: body size limit, JSON bodies, POST only, request metrics, one-line errors
    fast       the fast path: JSON inference requests answered without KServe's per-request stack
    inputs     request bodies -> rows of numbers, or a 400 that says what was expected; answers by protocol
    models     RowsModel: the kserve.Model the runtimes' classes build on (`predict_rows`)
    sklearn    JoblibModel: loads a joblib-saved estimator
    on_torch   OnTorch: the torch models' device (CUDA when there is one), processes and threads
    pytorch    TorchModel: loads a state dict into the owner's network; batches requests (batching)
    embeddings EmbeddingModel: a sentence-transformers model; texts in, vectors out (texts)
    generation GenerativeModel: a causal language model; prompts and chats in, text out, streamed
    sampling   how a generation runs (max_tokens, temperature, stop) and what it gives (imports nothing heavy)
    openai_api OpenAI's routes (/openai/v1: models, embeddings, completions, chat) for a model with a task
    routes     the OpenAI routes' paths (imports nothing: the tooling's smoke uses them too)
    artifacts  the model files' names (imports nothing: training uses them too)
    limits     the request body limit (imports nothing: the templates use it too)
    torchserve_launcher  the TorchServe image's entrypoint (standard library only, no KServe)
"""

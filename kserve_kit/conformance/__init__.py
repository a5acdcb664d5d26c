"""The platform's conformance tests, as a pytest plugin (entry point `pytest11`: installed with
kserve-kit, active in a service repo, one with kserve-kit.yaml). A service's `make test` runs them
against its own real server, with its own facts, sample and training; its tests/ holds only the
owner's tests, which may use the plugin's fixtures (plugin.py).

    test_server.py          every server: the sample by each protocol, 400s, 413, bursts, recovery
    test_kserve_server.py   KServe's Python server: POST only, one-line client errors, the fast path
    test_inputs.py          the serving library's request checks, in the service's environment
    test_batching.py        the serving library's batching, in the service's environment
    test_monitoring.py      monitoring/ asks only for what the server exports (with monitoring/)
    test_vllm_runtime.py    vLLM (not run here): its ServingRuntime's name, model path, port, probes, /dev/shm
    test_monitoring_recorded.py  monitoring/ against a recorded scrape of a server not run here (scrapes/)
"""

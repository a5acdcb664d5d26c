"""What the tooling reads from and does to a cluster: the InferenceService, its pods, events and
KServe's configuration, live or from a recorded snapshot (snapshot); `status`, `doctor` (with the
control plane's checks against the profile, kserve_config) and the rollout commands (rollout)."""

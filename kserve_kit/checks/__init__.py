"""What `kserve-kit validate` checks before anything reaches a cluster: KServe's CRD schemas (schemas),
the platform policy (policy, credentials), hadolint and the admission rules (kserve_kit.admission),
each problem a finding (findings) that names its guideline section."""

"""The control plane as data: what KServe's and Knative's admission (webhooks, field masks, feature
flags, derived names, per-release storage behaviour) would do with a service's manifests, offline.

    releases  the upstream facts per release: shipped configuration defaults, Knative's feature flags
    names     every name and host label KServe and Knative derive from the service's name and namespace
    kserve    KServe's InferenceService and ServingRuntime validating webhooks, per release
    knative   Knative Serving's pod-spec field mask under the cluster's feature flags

Every rule names its upstream file and release (docs/admission.md lists them). This package needs only
the standard library and `packaging`, so the kit's wizard (extensions/) uses the same functions as
`kserve-kit validate`.
"""

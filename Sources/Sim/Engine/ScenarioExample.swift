/// The commented scenario `sim --example` prints: every section of a scenario file once, each key
/// explained where it is used (docs/SCENARIOS.md has the full reference). It parses and passes as
/// printed (ScenarioExampleTests, SimCommandTests), so a newcomer can start from it.
public enum ScenarioExample {
    public static let text = #"""
# A scenario: a virtual cluster, what happens to it over virtual time, and what must hold.
# Run it with `sim example.yaml`; every key is described in docs/SCENARIOS.md.
name: example                      # required; names the report and the per-scenario output files
description: A TrafficSplit sends half of a client's requests to each of two versions; one pod is killed.
seed: 7                            # default 1; the same seed gives byte-identical reports (--seed overrides)
duration: 12s                      # virtual time; without it the run ends when the last step is over

mesh:                              # as `fsm install --set fsm.<key>=...` and the MeshConfig
  enablePermissiveTrafficPolicy: true   # default true: any meshed pod may call any service
  namespaces: [shop, client]       # as `fsm namespace add`: pods in these namespaces get a sidecar
  configDelay: 100ms               # from a change to the new config at the sidecars (default 100ms)

network:                           # the link between any two pods
  latency: { p50: 250us, p99: 1ms }    # or a fixed value such as 250us
  loss: 0                          # share of messages lost (0 ... 1)

manifests: |                       # Kubernetes YAML applied at 0s (strict, like kubectl --validate=strict)
  apiVersion: v1
  kind: Service
  metadata: { name: web, namespace: shop }
  spec:
    ports: [{ name: http, port: 8080, targetPort: 8080 }]
    selector: { app: web }
  ---
  apiVersion: v1
  kind: Service
  metadata: { name: web-v1, namespace: shop }
  spec:
    ports: [{ name: http, port: 8080, targetPort: 8080 }]
    selector: { app: web, version: v1 }
  ---
  apiVersion: v1
  kind: Service
  metadata: { name: web-v2, namespace: shop }
  spec:
    ports: [{ name: http, port: 8080, targetPort: 8080 }]
    selector: { app: web, version: v2 }
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata: { name: web-v1, namespace: shop }
  spec:
    replicas: 2                    # pods are named <deployment>-<index>: web-v1-0, web-v1-1
    selector: { matchLabels: { app: web, version: v1 } }
    template:
      metadata: { labels: { app: web, version: v1 } }
      spec:
        containers: [{ name: web, image: example/web:1, ports: [{ containerPort: 8080 }] }]
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata: { name: web-v2, namespace: shop }
  spec:
    replicas: 1
    selector: { matchLabels: { app: web, version: v2 } }
    template:
      metadata: { labels: { app: web, version: v2 } }
      spec:
        containers: [{ name: web, image: example/web:2, ports: [{ containerPort: 8080 }] }]
  ---
  apiVersion: apps/v1
  kind: Deployment
  metadata: { name: curl, namespace: client }
  spec:
    replicas: 1
    selector: { matchLabels: { app: curl } }
    template:
      metadata: { labels: { app: curl } }
      spec:
        containers: [{ name: curl, image: curlimages/curl, command: ["sleep", "365d"] }]
  ---
  apiVersion: split.smi-spec.io/v1alpha4
  kind: TrafficSplit
  metadata: { name: web-split, namespace: shop }
  spec:
    service: web
    backends:
      - { service: web-v1, weight: 50 }
      - { service: web-v2, weight: 50 }

apps:                              # what each Deployment's containers do, by Deployment name
  web-v1: { model: echo, body: "v1", serviceTime: 1ms }
  web-v2: { model: echo, body: "v2", serviceTime: 2ms }
  # curl has no entry and an image the simulator does not know: it serves nothing, like a client.

external:                          # hosts outside the cluster: DNS name, address, ports, app model
  docs-site: { host: docs.example.com, ip: 203.0.113.10, ports: [80], model: pipy-ok }

steps:                             # in time order; steps at the same time keep their file order
  - at: 1s
    load:
      name: half-half              # required, unique: expectations refer to it
      from: client/curl            # namespace/deployment the requests leave from
      url: http://web.shop:8080/   # http://host[:port]/path, or tcp://host:port
      requests: 400                # stop after N requests (or give duration: 10s)
      qps: 100                     # open loop at this rate; without qps, a closed loop
      concurrency: 4               # connections, each reused like fortio's workers
  - at: 3s
    fault: { kind: kill-pod, target: shop/web-v1-1, restartAfter: 2s }   # one pod of two; back after 2s
  - at: 6s
    apply: |                       # YAML applied at that time (create or replace)
      apiVersion: split.smi-spec.io/v1alpha4
      kind: TrafficSplit
      metadata: { name: web-split, namespace: shop }
      spec:
        service: web
        backends:
          - { service: web-v1, weight: 0 }
          - { service: web-v2, weight: 100 }
  - at: 7s
    load: { name: all-v2, from: client/curl, url: "http://web.shop:8080/", requests: 100, qps: 50 }
  - at: 10s
    delete: { kind: TrafficSplit, namespace: shop, name: web-split }
  - at: 10s
    load: { name: outside, from: external, url: "http://docs.example.com/", requests: 10 }   # a client outside the cluster and the mesh

expect:                            # each entry holds one check; `sim` exits 1 when one fails
  - load: half-half
    backends: { web-v1: 50%, web-v2: 50% }   # share of responses by Deployment
    tolerance: 10%                 # default 5%
  - load: half-half
    bodies: { "v1": 50%, "v2": 50% }          # share of responses by body text
    tolerance: 10%
  - load: all-v2
    status: { 200: 100 }           # exact counts of every status (0: the connection failed)
  - load: all-v2
    backends: { web-v1: 0%, web-v2: 100% }
  - load: all-v2
    latency: { p50: "< 10ms", max: "< 50ms" }   # modelled (virtual) milliseconds
  - app: web-v2
    received: 300                  # requests that reached the Deployment's containers (exact)
  - proxy: shop/web-v1             # a sidecar counter (`fsm proxy get stats` names), summed over its pods
    counter: inbound.rq_2xx
    value: "> 100"                 # a number (exact) or a comparison
  - load: outside
    bodyContains: "Hi, I am pipy!" # every response's body holds the text
  - load: outside
    headers: { location: null }    # every response has the header with this value (null: without it)
  - app: docs-site                 # external hosts count what they received like Deployments
    received: 10
"""#
}

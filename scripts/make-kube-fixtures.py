#!/usr/bin/env python3
"""Writes Tests/MeshKubeTests/Fixtures/bookstore.json: the bookstore sample as an API server would
return it after `fsm install`, `fsm namespace add` and `kubectl apply -f deploy/samples/bookstore`
(the shape of `kubectl get ... -o json`: a List of full objects).

Pods and services get the names and addresses the manifest-directory mode gives them
(LocalCluster: pods `<deployment>-<ordinal>` from 127.1.0.10, services from 127.2.0.10, in
declaration order), so that the controller's configs compare byte for byte between the two modes.
Everything a real API server adds is there: uids, resourceVersions, creationTimestamps, defaulted
fields, status, the `default` ServiceAccount of every namespace, Endpoints, ReplicaSet owners,
injected init and sidecar containers, and objects outside the mesh (kube-system, default, the
`kubernetes` Service) that the controller must ignore.
"""
import glob, json, os, sys, uuid
import yaml

root = os.path.join(os.path.dirname(__file__), "..")
samples = sorted(glob.glob(os.path.join(root, "deploy/samples/bookstore/*.yaml")))
docs = [d for f in samples for d in yaml.safe_load_all(open(f)) if d]

rv = [1000]
def meta(obj, ns=None):
    rv[0] += 7
    m = dict(obj.get("metadata", {}))
    if ns is not None: m["namespace"] = ns
    m["uid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{obj['kind']}/{m.get('namespace','')}/{m['name']}"))
    m["resourceVersion"] = str(rv[0])
    m["creationTimestamp"] = "2026-03-01T10:00:00Z"
    m["managedFields"] = [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": obj["apiVersion"],
                           "time": "2026-03-01T10:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {}}}]
    return m

def ip(base, n):
    return f"127.{base}.0.{10 + n}"

items, pods, services = [], 0, 0
extra_ns = ["default", "kube-system", "fsm-system"]
for name in extra_ns:
    items.append({"apiVersion": "v1", "kind": "Namespace",
                  "metadata": meta({"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}}}),
                  "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
items.append({"apiVersion": "v1", "kind": "Service", "metadata": meta({"kind": "Service", "apiVersion": "v1", "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}}}, "default"),
              "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
              "status": {"loadBalancer": {}}})
items.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": "coredns-5d78c9869d-7kq2x", "labels": {"k8s-app": "kube-dns"}}}, "kube-system"),
              "spec": {"serviceAccountName": "coredns", "containers": [{"name": "coredns", "image": "registry.k8s.io/coredns/coredns:v1.10.1", "ports": [{"containerPort": 53, "name": "dns", "protocol": "UDP"}]}]},
              "status": {"phase": "Running", "podIP": "10.244.0.2", "podIPs": [{"ip": "10.244.0.2"}]}})

namespaces = []
for d in docs:
    kind = d["kind"]
    ns = d["metadata"].get("namespace", "default")
    if kind == "Namespace":
        d["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = d["metadata"]["name"]
        items.append({**d, "metadata": meta(d), "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
        namespaces.append(d["metadata"]["name"])
    elif kind == "MeshConfig":
        items.append({**d, "metadata": meta(d, ns)})
    elif kind == "Service":
        spec = dict(d["spec"])
        address = ip(2, services); services += 1
        spec["ports"] = [{"protocol": "TCP", "targetPort": p.get("port"), **p} for p in spec["ports"]]
        spec.update({"clusterIP": address, "clusterIPs": [address], "type": "ClusterIP", "sessionAffinity": "None",
                     "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster"})
        items.append({**d, "metadata": meta(d, ns), "spec": spec, "status": {"loadBalancer": {}}})
    elif kind == "Deployment":
        spec = d["spec"]
        template = spec["template"]
        hash_ = uuid.uuid5(uuid.NAMESPACE_URL, d["metadata"]["name"]).hex[:9]
        for c in template["spec"]["containers"]:
            c.setdefault("resources", {}); c["terminationMessagePath"] = "/dev/termination-log"; c["terminationMessagePolicy"] = "File"
        items.append({**d, "metadata": meta(d, ns), "spec": {**spec, "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                                                             "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
                      "status": {"observedGeneration": 1, "replicas": spec.get("replicas", 1), "readyReplicas": spec.get("replicas", 1), "availableReplicas": spec.get("replicas", 1)}})
        for ordinal in range(spec.get("replicas", 1)):
            name = f"{d['metadata']['name']}-{ordinal}"
            address = ip(1, pods); pods += 1
            labels = {**template["metadata"].get("labels", {}), "pod-template-hash": hash_}
            pod_spec = dict(template["spec"])
            pod_spec["initContainers"] = [{"name": "fsm-init", "image": "flomesh/fsm:latest", "command": ["fsm", "init"],
                                           "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}, "runAsNonRoot": False, "runAsUser": 0}}]
            pod_spec["containers"] = pod_spec["containers"] + [{"name": "sidecar", "image": "flomesh/fsm:latest", "args": ["sidecar", "--capture", "iptables"],
                                                                "securityContext": {"runAsUser": 1500}}]
            pod_spec.update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst", "nodeName": "kind-control-plane", "schedulerName": "default-scheduler"})
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": meta({"kind": "Pod", "apiVersion": "v1", "metadata": {"name": name, "labels": labels,
                       "annotations": template["metadata"].get("annotations", {}),
                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": f"{d['metadata']['name']}-{hash_}",
                                            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, hash_)), "controller": True, "blockOwnerDeletion": True}]}}, ns),
                   "spec": pod_spec,
                   "status": {"phase": "Running", "hostIP": "172.18.0.2", "podIP": address, "podIPs": [{"ip": address}],
                              "conditions": [{"type": "Ready", "status": "True"}], "qosClass": "BestEffort"}}
            items.append(pod)
    elif kind == "ServiceAccount":
        items.append({**d, "metadata": meta(d, ns)})
    else:
        items.append({**d, "metadata": meta(d, ns)})

for name in namespaces + extra_ns:
    items.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta({"kind": "ServiceAccount", "apiVersion": "v1", "metadata": {"name": "default"}}, name)})

# Endpoints as the endpoints controller writes them for every Service with a selector.
for svc in [i for i in items if i["kind"] == "Service" and i["spec"].get("selector")]:
    ns = svc["metadata"]["namespace"]
    selected = [p for p in items if p["kind"] == "Pod" and p["metadata"]["namespace"] == ns
                and all(p["metadata"]["labels"].get(k) == v for k, v in svc["spec"]["selector"].items())]
    subsets = [{"addresses": [{"ip": p["status"]["podIP"], "nodeName": "kind-control-plane",
                               "targetRef": {"kind": "Pod", "namespace": ns, "name": p["metadata"]["name"], "uid": p["metadata"]["uid"]}} for p in selected],
                "ports": [{**({"name": port["name"]} if port.get("name") else {}), "port": port["targetPort"], "protocol": "TCP"} for port in svc["spec"]["ports"]]}] if selected else []
    items.append({"apiVersion": "v1", "kind": "Endpoints", "metadata": meta({"kind": "Endpoints", "apiVersion": "v1", "metadata": {"name": svc["metadata"]["name"], "labels": svc["metadata"].get("labels", {})}}, ns),
                  "subsets": subsets})

out = os.path.join(root, "Tests/MeshKubeTests/Fixtures/bookstore.json")
with open(out, "w") as f:
    json.dump({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}, f, indent=1)
    f.write("\n")
print(f"{out}: {len(items)} objects, {pods} pods, {services} services", file=sys.stderr)

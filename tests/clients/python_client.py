"""The official Kubernetes Python client against the sandbox, used the way
its own docs and its users use it. Run by tests/clients_python.rs with the
sandbox's kubeconfig; prints one line per check and exits non-zero on the
first failure, with what the server answered."""

import sys
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException


def check(name, cond, detail=""):
    if not cond:
        print(f"FAIL {name}: {detail}", flush=True)
        sys.exit(1)
    print(f"ok {name}", flush=True)


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    apps = client.AppsV1Api()
    net = client.NetworkingV1Api()
    events = client.EventsV1Api()

    version = client.VersionApi().get_code()
    check("version", version.major == "1", version)

    groups = [g.name for g in client.ApisApi().get_api_versions().groups]
    check("api groups", {"apps", "policy", "events.k8s.io"} <= set(groups), groups)

    # Pages of two, following `continue` until it is empty.
    everything = sorted(p.metadata.name for p in core.list_pod_for_all_namespaces().items)
    paged, token, pages = [], None, 0
    while True:
        page = core.list_pod_for_all_namespaces(limit=2, _continue=token)
        pages += 1
        paged += [p.metadata.name for p in page.items]
        token = page.metadata._continue
        if not token:
            break
    check("list with limit and continue", sorted(paged) == everything and pages > 1,
          f"{len(paged)} paged in {pages} pages vs {len(everything)}")

    pod = core.list_namespaced_pod("shop", label_selector="app=checkout").items[0]
    check("server-side pod defaults",
          pod.spec.restart_policy == "Always"
          and pod.spec.service_account_name == "default"
          and any(v.name.startswith("kube-api-access-") for v in pod.spec.volumes or []),
          pod.spec)

    apps.patch_namespaced_deployment(
        "checkout", "shop", {"metadata": {"annotations": {"example.com/touched": "yes"}}})
    dep = apps.read_namespaced_deployment("checkout", "shop")
    check("patch a deployment", dep.metadata.annotations.get("example.com/touched") == "yes")

    policies = net.list_namespaced_network_policy("shop").items
    check("read network policies", isinstance(policies, list))

    shop_events = events.list_namespaced_event("shop")
    check("events.k8s.io/v1", shop_events.api_version == "events.k8s.io/v1", shop_events.api_version)

    # Eviction: the first goes (201), the second breaks the PDB (429).
    victims = [p.metadata.name for p in
               core.list_namespaced_pod("shop", label_selector="app=checkout").items]
    body = lambda n: client.V1Eviction(metadata=client.V1ObjectMeta(name=n, namespace="shop"))
    core.create_namespaced_pod_eviction(victims[0], "shop", body(victims[0]))
    try:
        core.create_namespaced_pod_eviction(victims[1], "shop", body(victims[1]))
        check("eviction under a PDB is 429", False, "the second eviction went through")
    except ApiException as e:
        check("eviction under a PDB is 429", e.status == 429, f"{e.status} {e.body}")

    # A graceful delete (the client's default options).
    ledger = core.list_namespaced_pod("payments").items[0].metadata.name
    core.delete_namespaced_pod(ledger, "payments", body=client.V1DeleteOptions())
    check("graceful delete accepted", True)

    agent = log_agent(core, apps, "node-3")
    drain(core, "node-3", agent)


def log_agent(core, apps, node):
    """A node agent DaemonSet, as clusters have; returns its pod on `node`."""
    labels = {"app": "log-agent"}
    apps.create_namespaced_daemon_set("shop", client.V1DaemonSet(
        metadata=client.V1ObjectMeta(name="log-agent"),
        spec=client.V1DaemonSetSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels=labels),
                spec=client.V1PodSpec(containers=[
                    client.V1Container(name="agent", image="busybox:1.36",
                                       command=["sleep", "3600"])])))))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = core.list_namespaced_pod(
            "shop", label_selector="app=log-agent",
            field_selector=f"spec.nodeName={node}").items
        if pods:
            check("daemonset pod on the node", True)
            return pods[0].metadata.name
        time.sleep(0.2)
    check("daemonset pod on the node", False, f"no log-agent pod on {node} in 30 s")


def is_daemonset_pod(p):
    return any(o.kind == "DaemonSet" for o in p.metadata.owner_references or [])


def drain(core, node, agent):
    """Cordon, list the node's pods, evict each (skipping DaemonSet pods),
    retrying 429s until the PDB allows, the way drain scripts built on this
    client do; then every other pod has left and the agent stayed."""
    core.patch_node(node, {"spec": {"unschedulable": True}})
    on_node = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
    pods = [p for p in on_node if not is_daemonset_pod(p)]
    check("drain skips the daemonset pod",
          agent in {p.metadata.name for p in on_node} - {p.metadata.name for p in pods})
    deadline = time.monotonic() + 60
    retries = 0
    for p in pods:
        while True:
            try:
                core.create_namespaced_pod_eviction(
                    p.metadata.name, p.metadata.namespace,
                    client.V1Eviction(metadata=client.V1ObjectMeta(
                        name=p.metadata.name, namespace=p.metadata.namespace)))
                break
            except ApiException as e:
                if e.status == 404:
                    break
                if e.status != 429 or time.monotonic() > deadline:
                    check(f"evict {p.metadata.name}", False, f"{e.status} {e.body}")
                retries += 1
                time.sleep(0.5)
    # Evicted pods terminate gracefully: wait until they are gone.
    while True:
        now = core.list_pod_for_all_namespaces(field_selector=f"spec.nodeName={node}").items
        left = [p.metadata.name for p in now if not is_daemonset_pod(p)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    agents = [p for p in now if p.metadata.name == agent and p.metadata.deletion_timestamp is None]
    print(f"drained {len(pods)} pods from {node} with {retries} 429 retries", flush=True)
    check(f"drain {node}", core.read_node(node).spec.unschedulable and not left, left)
    check(f"daemonset pod stays on {node}", len(agents) == 1, [p.metadata.name for p in now])


if __name__ == "__main__":
    main(sys.argv[1])

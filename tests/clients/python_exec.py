"""`kubernetes.stream.stream` (WebSocket, v4.channel.k8s.io) running a
command in the sandbox's `shop/shell` pod, as the client's docs show. Run
by tests/sandbox_exec.rs with the sandbox's kubeconfig."""

import sys

from kubernetes import client, config
from kubernetes.stream import stream


def main(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    core = client.CoreV1Api()
    out = stream(
        core.connect_get_namespaced_pod_exec,
        "shell",
        "shop",
        command=["sh", "-c", "echo from-python"],
        stderr=True,
        stdin=False,
        stdout=True,
        tty=False,
    )
    if out.strip() != "from-python":
        print(f"FAIL stream exec: {out!r}", flush=True)
        sys.exit(1)
    print("ok stream exec", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])

#!/usr/bin/env python3
"""Writes a sandbox world of Kubernetes manifests for the benchmarks.

usage: sandbox_world.py NAMESPACES DEPLOYMENTS_PER_NS REPLICAS NODES > world.yaml
(200 5 10 100 gives 10,000 pods in 200 namespaces on 100 nodes.)
"""
import sys

namespaces, deployments, replicas, nodes = (int(x) for x in sys.argv[1:5])
out = sys.stdout
for n in range(nodes):
    pool = "blue" if n % 2 == 0 else "green"
    out.write(f"""---
apiVersion: v1
kind: Node
metadata: {{name: node-{n}, labels: {{pool: {pool}}}}}
status: {{capacity: {{cpu: "64", memory: 256Gi, pods: "250"}}}}
""")
for ns in range(namespaces):
    out.write(f"""---
apiVersion: v1
kind: Namespace
metadata: {{name: ns-{ns}}}
""")
    for d in range(deployments):
        out.write(f"""---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: app-{d}, namespace: ns-{ns}, labels: {{app: app-{d}}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: app-{d}}}}}
  template:
    metadata:
      labels: {{app: app-{d}, tier: web}}
      annotations: {{sandbox.gameday/readiness-delay: 1s}}
    spec:
      containers:
      - name: app
        image: shop/app-{d}:1.0
        ports: [{{containerPort: 8080}}]
        resources: {{requests: {{cpu: 100m, memory: 128Mi}}}}
---
apiVersion: v1
kind: Service
metadata: {{name: app-{d}, namespace: ns-{ns}}}
spec:
  selector: {{app: app-{d}}}
  ports: [{{port: 80, targetPort: 8080}}]
""")

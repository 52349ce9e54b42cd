#!/usr/bin/env python3
"""Generates crates/sandbox/src/wire/schema.rs from Kubernetes' generated.proto files.

The sandbox decodes the protobuf bodies kubectl's typed clients send
(application/vnd.kubernetes.protobuf). The field numbers and JSON names come
from the upstream generated.proto files, which ship inside the crates.io
package k8s-rs-pb 0.5.0 (src/v1_33/, Kubernetes 1.33). This script reads them
and writes static tables; neither the .proto files nor k8s-rs-pb are part of
the build. Standard library only.

Usage:
    python3 scripts/gen-proto-schema.py [PROTO_ROOT] > crates/sandbox/src/wire/schema.rs

PROTO_ROOT defaults to ~/.cargo/registry/src/*/k8s-rs-pb-0.5.0/src/v1_33.
"""

import glob
import os
import re
import subprocess
import sys

PACKAGE = "k8s-rs-pb 0.5.0"
KUBE = "1.33"

# The groups the sandbox serves or may serve (crates/sandbox/src/resources.rs),
# by proto directory -> apiVersion. The proto package does not carry the API
# group name (rbac is rbac.authorization.k8s.io), so it is listed here.
GROUPS = {
    "api/core/v1": "v1",
    "api/apps/v1": "apps/v1",
    "api/batch/v1": "batch/v1",
    "api/policy/v1": "policy/v1",
    "api/rbac/v1": "rbac.authorization.k8s.io/v1",
    "api/networking/v1": "networking.k8s.io/v1",
    "api/scheduling/v1": "scheduling.k8s.io/v1",
    "api/coordination/v1": "coordination.k8s.io/v1",
    "api/discovery/v1": "discovery.k8s.io/v1",
    "api/authentication/v1": "authentication.k8s.io/v1",
    "api/authorization/v1": "authorization.k8s.io/v1",
    "api/autoscaling/v1": "autoscaling/v1",
    "api/events/v1": "events.k8s.io/v1",
}
# Packages the group files import from.
SUPPORT = [
    "apimachinery/pkg/apis/meta/v1",
    "apimachinery/pkg/api/resource",
    "apimachinery/pkg/util/intstr",
    "apimachinery/pkg/runtime",
    "apimachinery/pkg/runtime/schema",
]

# Messages whose JSON form is not an object (their Go types have custom
# MarshalJSON), keyed by full proto name -> Shape variant.
SHAPES = {
    "apimachinery.pkg.apis.meta.v1.Time": "Time",
    "apimachinery.pkg.apis.meta.v1.MicroTime": "MicroTime",
    "apimachinery.pkg.apis.meta.v1.Duration": "Duration",
    "apimachinery.pkg.apis.meta.v1.FieldsV1": "Raw",
    "apimachinery.pkg.runtime.RawExtension": "Raw",
    "apimachinery.pkg.api.resource.Quantity": "Quantity",
    "apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
}

# Go fields embedded with `json:",inline"` (k8s.io/api/{core,networking}/v1
# types.go): the proto has them as an ordinary field named after the type,
# but their JSON is merged into the parent object. The proto files do not say
# which fields these are; this list was checked against the JSON field names
# of k8s-openapi 0.29 (v1_33), where every other message field of these
# groups has a JSON name equal to its proto name.
INLINE = {
    ("api.core.v1.Volume", "volumeSource"),
    ("api.core.v1.PersistentVolumeSpec", "persistentVolumeSource"),
    ("api.core.v1.Probe", "handler"),
    ("api.core.v1.EphemeralContainer", "ephemeralContainerCommon"),
    ("api.core.v1.ConfigMapEnvSource", "localObjectReference"),
    ("api.core.v1.ConfigMapKeySelector", "localObjectReference"),
    ("api.core.v1.ConfigMapProjection", "localObjectReference"),
    ("api.core.v1.ConfigMapVolumeSource", "localObjectReference"),
    ("api.core.v1.SecretEnvSource", "localObjectReference"),
    ("api.core.v1.SecretKeySelector", "localObjectReference"),
    ("api.core.v1.SecretProjection", "localObjectReference"),
    ("api.networking.v1.IngressRule", "ingressRuleValue"),
}
# The two proto names that are not the JSON name (the Go protobuf tag
# spells the Go field name: `APIGroup` -> aPIGroup, `UID` -> uID).
RENAMED = {
    ("api.networking.v1.IngressClassParametersReference", "aPIGroup"): "apiGroup",
    ("api.authentication.v1.BoundObjectReference", "uID"): "uid",
}

SCALARS = {
    "string": "Str",
    "bytes": "Bytes",
    "bool": "Bool",
    "int32": "I32",
    "int64": "I64",
    "uint32": "U64",
    "uint64": "U64",
    "double": "F64",
    "float": "F32",
}

FIELD = re.compile(
    r"^\s*(optional|repeated)\s+([\w.]+)\s+(\w+)\s*=\s*(\d+)\s*;"
    r"|^\s*map<\s*([\w.]+)\s*,\s*([\w.]+)\s*>\s+(\w+)\s*=\s*(\d+)\s*;"
)


def parse(path):
    """(package, {message: [(label, type, name, num)]}, {message: slice alias?})."""
    package = None
    messages = {}
    aliases = set()
    current = None
    comment = []
    for line in open(path, encoding="utf-8"):
        s = line.strip()
        if s.startswith("package "):
            package = s[len("package "):].rstrip(";").strip()
        elif s.startswith("message "):
            current = s.split()[1]
            messages[current] = []
        elif s == "}":
            current = None
        elif s.startswith("//"):
            comment.append(s)
            continue
        elif current:
            m = FIELD.match(line)
            if m and m.group(1):
                messages[current].append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
            elif m:
                if m.group(5) != "string":
                    sys.exit(f"{path}: map key {m.group(5)} is not string")
                messages[current].append(("map", m.group(6), m.group(7), int(m.group(8))))
            elif s and not s.startswith("option"):
                sys.exit(f"{path}: cannot parse {s!r}")
            # `type ExtraValue []string`: go-to-protobuf wraps the slice
            # in a message and marks it with this comment; its JSON is the array.
            if any("items, if empty, will result in an empty slice" in c for c in comment):
                aliases.add(current)
        if s:
            comment = [] if not s.startswith("//") else comment
    return package, messages, aliases


def load(root):
    msgs = {}
    aliases = set()
    tops = []
    for d in list(GROUPS) + SUPPORT:
        pkg, messages, al = parse(os.path.join(root, d, "generated.proto"))
        for name, fields in messages.items():
            full = f"{pkg}.{name}"
            resolved = []
            for label, typ, fname, num in fields:
                if typ not in SCALARS:
                    typ = typ[1:] if typ.startswith(".") else f"{pkg}.{typ}"
                resolved.append((label, typ, fname, num))
            msgs[full] = resolved
            if name in al:
                aliases.add(full)
            meta = [f for f in resolved if f[2] == "metadata" and f[3] == 1]
            if d in GROUPS and meta and meta[0][1].endswith("meta.v1.ObjectMeta"):
                tops.append((GROUPS[d], name, full))
    return msgs, aliases, tops


def reachable(msgs, roots):
    seen = []
    todo = list(roots)
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        if m not in msgs:
            sys.exit(f"message {m} not found")
        seen.append(m)
        for _, typ, _, _ in msgs[m]:
            if typ not in SCALARS:
                todo.append(typ)
    return sorted(seen)


def main():
    if len(sys.argv) > 1:
        root = sys.argv[1]
    else:
        found = glob.glob(os.path.expanduser("~/.cargo/registry/src/*/k8s-rs-pb-0.5.0/src/v1_33"))
        if not found:
            sys.exit("k8s-rs-pb-0.5.0 not in the cargo registry; pass PROTO_ROOT")
        root = found[0]
    msgs, aliases, tops = load(root)
    for m, fname in list(INLINE) + list(RENAMED):
        if not any(f[2] == fname for f in msgs.get(m, [])):
            sys.exit(f"{m}.{fname} is not in the proto files")
    order = reachable(msgs, [t[2] for t in tops])
    index = {m: i for i, m in enumerate(order)}
    out = []
    w = out.append
    w(f"// @generated by scripts/gen-proto-schema.py from the generated.proto files of")
    w(f"// Kubernetes {KUBE} shipped in the crates.io package {PACKAGE} (src/v1_33/).")
    w("// Do not edit. Regenerate with:")
    w("//     python3 scripts/gen-proto-schema.py > crates/sandbox/src/wire/schema.rs")
    w("")
    w("//! Field tables for every message reachable from the top-level kinds of")
    w("//! " + ", ".join(GROUPS.values()) + ".")
    w("")
    w("use super::model::{Kind, Label, Message, Shape, TopKind, f};")
    w("")
    w("/// Every message, sorted by full proto name; `Kind::Msg(i)` indexes it.")
    w("pub static MESSAGES: &[Message] = &[")
    for i, m in enumerate(order):
        shape = SHAPES.get(m, "Items" if m in aliases else "Object")
        w(f"    // {i}")
        w("    Message {")
        w(f"        name: {m!r},".replace("'", '"'))
        w(f"        shape: Shape::{shape},")
        w("        fields: &[")
        for label, typ, fname, num in sorted(msgs[m], key=lambda f: f[3]):
            kind = f"Kind::{SCALARS[typ]}" if typ in SCALARS else f"Kind::Msg({index[typ]})"
            lab = {"optional": "Label::One", "repeated": "Label::Many", "map": "Label::Map"}[label]
            if (m, fname) in INLINE:
                lab = "Label::Inline"
            fname = RENAMED.get((m, fname), fname)
            w(f'            f({num}, "{fname}", {kind}, {lab}),')
        w("        ],")
        w("    },")
    w("];")
    w("")
    w("/// Top-level kinds (messages with `metadata = 1` of type ObjectMeta), sorted")
    w("/// by (apiVersion, kind) for a binary search.")
    w("pub static KINDS: &[TopKind] = &[")
    for api, kind, full in sorted(tops):
        w(f'    TopKind {{ api_version: "{api}", kind: "{kind}", message: {index[full]} }},')
    w("];")
    text = "\n".join(out) + "\n"
    # The committed file is rustfmt's layout, so `cargo fmt --check` passes
    # and regenerating gives no diff.
    fmt = subprocess.run(
        ["rustfmt", "--edition", "2024", "--emit", "stdout"],
        input=text, capture_output=True, text=True, check=True,
    )
    sys.stdout.write(fmt.stdout)


if __name__ == "__main__":
    main()

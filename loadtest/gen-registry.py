#!/usr/bin/env python3
"""A large registry and policy set for load tests.

    loadtest/gen-registry.py OUT_DIR [--agents 100000] [--policies 1000] [--tenants 100]

Writes OUT_DIR/registry.jsonl (for `portcullis registry import`): --tenants tenants, ten tools
each on the upstream `bench`, --agents agents spread over them, each granted two tools of its
tenant. Writes OUT_DIR/policies: the shipped policies plus --policies generated ones scoped
to those agents, tools and tenants (per-tool argument limits, per-agent and per-tenant rules).
"""

import argparse
import json
import pathlib
import shutil
import uuid

TOOLS_PER_TENANT = 10
NOW = "2026-01-01T00:00:00Z"


def common(kind, tenant, name):
    return {
        "kind": kind,
        "id": str(uuid.uuid4()),
        "tenant_id": tenant,
        "name": name,
        "lifecycle_state": "active",
        "risk_level": "low",
        "created_at": NOW,
        "updated_at": NOW,
        "version": 1,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    p.add_argument("out", type=pathlib.Path)
    p.add_argument("--agents", type=int, default=100_000)
    p.add_argument("--policies", type=int, default=1_000)
    p.add_argument("--tenants", type=int, default=100)
    a = p.parse_args()
    a.out.mkdir(parents=True, exist_ok=True)
    tenants = [f"t{t:03}" for t in range(a.tenants)]
    tools = {t: [] for t in tenants}
    agents = []
    with open(a.out / "registry.jsonl", "w") as f:
        def line(key, value):
            f.write(json.dumps({key: value}, separators=(",", ":")) + "\n")

        for t in tenants:
            for i in range(TOOLS_PER_TENANT):
                tool = common("tool", t, f"tool_{i}")
                tool.update(
                    category="utility",
                    upstream="bench",
                    input_schema={
                        "type": "object",
                        "properties": {"amount": {"type": "integer"}},
                    },
                )
                tools[t].append(tool["id"])
                line("nhi", tool)
        for i in range(a.agents):
            t = tenants[i % len(tenants)]
            agent = common("agent", t, f"agent-{i}")
            agents.append((t, agent["id"]))
            line("nhi", agent)
        for i, (t, agent) in enumerate(agents):
            for k in (i, i + 1):
                target = tools[t][k % TOOLS_PER_TENANT]
                line("relation", {"tenant_id": t, "kind": "tool_grant", "source": agent, "target": target})

    policies = a.out / "policies"
    if policies.exists():
        shutil.rmtree(policies)
    shutil.copytree(pathlib.Path(__file__).resolve().parent.parent / "policies", policies)
    all_tools = [tool for t in tenants for tool in tools[t]]
    text = []
    for i in range(a.policies):
        if i % 5 in (0, 1):
            text.append(
                f'@id("tool-limit-{i}")\n'
                f'forbid (principal, action == Portcullis::Action::"call_tool", '
                f'resource == Portcullis::Tool::"{all_tools[i % len(all_tools)]}")\n'
                f"when {{ context.arguments has amount && context.arguments.amount > {1000 + i} }};\n"
            )
        elif i % 5 in (2, 3):
            text.append(
                f'@id("agent-rule-{i}")\n'
                f'forbid (principal == Portcullis::Agent::"{agents[i % len(agents)][1]}", '
                f'action == Portcullis::Action::"call_tool", resource)\n'
                f"when {{ resource.risk_score > 90 }};\n"
            )
        else:
            text.append(
                f'@id("tenant-rule-{i}")\n'
                f'forbid (principal in Portcullis::Tenant::"{tenants[i % len(tenants)]}", '
                f'action == Portcullis::Action::"call_tool", resource)\n'
                f"when {{ resource.annotations.destructive && !context.approval.approved }};\n"
            )
    (policies / "generated.cedar").write_text("".join(text))
    print(f"{a.out}/registry.jsonl: {a.agents} agents, {len(all_tools)} tools, {2 * a.agents} grants; "
          f"{policies}: {a.policies} generated policies")


if __name__ == "__main__":
    main()

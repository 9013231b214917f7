#!/usr/bin/python3
"""flowscope-cli groups and causal on the tiny GPT-2 and the SAEs of
make-steer-fixtures.py, against its PyTorch reference (analysis.json): the
group counts of every layer exactly, and the deactivation test's matches,
co-active tokens, activation changes, successes and losses. The text is
longer than the model's context, so both run in two windows."""
import json
import os

from testlib import FIXTURES, check, cli, cli_json, finish

doc = json.load(open(os.path.join(FIXTURES, "steer", "analysis.json")))
model = os.path.join(FIXTURES, doc["model"])
saes = os.path.join(FIXTURES, doc["saes"])
text = os.path.join(FIXTURES, "steer", "analysis.txt")

tokens = cli_json("tokenize", "--model", model, "--text", doc["text"])
check(tokens.get("ids") == doc["tokens"], f"tokenize: {str(tokens)[:200]}")

got = cli_json("groups", "--saes", saes, "--model", model, "--text-file", text)
check(got.get("tokens") == len(doc["tokens"]), f"groups tokens {got.get('tokens')}")
names = got.get("groups", [])
check(len(names) == 8 and names[0] == "From nowhere" and names[7] == "From RES & MLP & ATT",
      f"group names {names}")
layers = got.get("layers", [])
check([l["layer"] for l in layers] == [g["layer"] for g in doc["groups"]],
      f"groups layers {[l['layer'] for l in layers]}")
for have, want in zip(layers, doc["groups"]):
    counts = [have["counts"][n] for n in names]
    check(counts == want["counts"] and have["occurrences"] == want["occurrences"],
          f"layer {want['layer']}: counts {counts} != {want['counts']}")
    check(abs(sum(have["shares"].values()) - 1) < 1e-9, f"layer {want['layer']}: shares")
check(layers and layers[1]["predecessor_saes"] == {"res": True, "mlp": True, "att": False},
      f"layer 1 predecessors {layers[1].get('predecessor_saes') if layers else None}")
cli("groups", "--saes", saes, "--model", model, "--text-file", text)

want = doc["causal"]
got = cli_json("causal", "--saes", saes, "--model", model, "--text-file", text,
               "--feature", want["feature"], "--r", "0,2")
check(got.get("feature") == want["feature"] and got.get("target_active") == want["target_active"],
      f"causal target: {got.get('target_active')} != {want['target_active']}")
check(abs(got.get("loss", 0) - want["loss"]) <= 1e-5 * want["loss"],
      f"loss {got.get('loss')} != {want['loss']}")
preds = got.get("predecessors", [])
check([p["feature"] for p in preds] == [p["feature"] for p in want["predecessors"]],
      f"predecessors {[p['feature'] for p in preds]}")
worst = 0
for have, exp in zip(preds, want["predecessors"]):
    check(have["kind"] == exp["kind"] and abs(have["score"] - exp["score"]) < 1e-5,
          f"{exp['feature']}: {have['kind']} {have['score']} != {exp['score']}")
    for h, e in zip(have["trials"], exp["trials"]):
        label = f"{exp['feature']} r={e['r']}"
        check(h["r"] == e["r"] and h["co_active"] == e["co_active"]
              and h["success"] == e["success"], f"{label}: {h} != {e}")
        check(abs(h["activation_change"] - e["activation_change"]) < 1e-4,
              f"{label}: activation change {h['activation_change']} != {e['activation_change']}")
        check(abs(h["loss"] - e["loss"]) <= 1e-5 * e["loss"]
              and abs(h["loss_change"] - e["loss_change"]) < 1e-5, f"{label}: loss {h} != {e}")
        worst = max(worst, abs(h["activation_change"] - e["activation_change"]),
                    abs(h["loss_change"] - e["loss_change"]))
print(f"# causal: max error of activation and loss changes {worst:.2e}")
out, _ = cli("causal", "--saes", saes, "--model", model, "--text-file", text,
             "--feature", want["feature"], "--sweep")
check(out.count("\n") >= 1 + 3 * 6, f"sweep table:\n{out}")

base = ["causal", "--saes", saes, "--model", model, "--text-file", text]
cli(*base, "--feature", "2/mlp/3", expect_rc=2)
cli(*base, "--feature", want["feature"], "--r", "0,x", expect_rc=2)
cli(*base, "--feature", want["feature"], "--r", "0", "--sweep", expect_rc=2)
cli("causal", "--saes", saes, "--model", model, "--feature", want["feature"], expect_rc=2)
cli(*base, "--feature", "7/res/0", expect_rc=1)
cli(*base, "--feature", "2/res/100000", expect_rc=1)
cli("groups", "--saes", saes, "--model", model, expect_rc=2)
cli("groups", "--saes", saes, "--model", model, "--text-file", "/nonexistent", expect_rc=1)
finish()

#!/usr/bin/python3
"""Attention SAEs on attn.hook_z are matched through the model's output
projection (GPT-2 c_proj; Gemma 2 o_proj and its post-attention norm) when
--model is given: every projected s(A) and its argmax equal NumPy's; without
the model they are listed, skipped and said to need it."""
import json
import os

from testlib import FIXTURES, check, cli, finish

cases = json.load(open(os.path.join(FIXTURES, "projection", "expected.json")))
for case in cases:
    saes = os.path.join(FIXTURES, case["set"])
    model = os.path.join(FIXTURES, "model", case["model"])
    for best in case["best"]:
        feature = f"{case['layer']}/res/{best['feature']}"
        out, _ = cli("graph", "--saes", saes, "--model", model, "--feature", feature,
                     "--t-att", "0", "--t-res", "1", "--format", "json")
        if not out:
            continue
        graph = json.loads(out)
        seed = next(n for n in graph["nodes"] if n["id"] == feature)
        check(abs(seed["scores"]["att"] - best["score"]) <= 1e-5,
              f"{case['model']} {feature}: s(A) {seed['scores']['att']} != {best['score']}")
        att = [e for e in graph["edges"] if e["kind"] == "att"]
        check(len(att) == 1 and att[0]["source"] == f"{case['layer']}/att/{best['index']}"
              and att[0].get("projected") is True, f"{case['model']} {feature}: {att}")
    for target, source in case["planted"].items():
        check(case["best"][int(target)]["index"] == source and
              case["best"][int(target)]["score"] > 0.8, f"planted {target} <- {source}")

    # Without the model: listed, not matched, and the warning says why.
    out, err = cli("graph", "--saes", saes, "--feature", f"{case['layer']}/res/5")
    check("attn.hook_z" in err and "--model" in err, f"warning without a model: {err!r}")
    check(all(e["kind"] != "att" for e in json.loads(out)["edges"]), "att matched without model")

# A model whose heads do not fit the SAE is refused, naming the SAE.
gpt2, gemma = cases[0], cases[1]
_, err = cli("graph", "--saes", os.path.join(FIXTURES, gpt2["set"]), "--model",
             os.path.join(FIXTURES, "model", gemma["model"]), "--feature", "1/res/5", expect_rc=1)
check("att-1: d_in is 32 but the model" in err, f"heads mismatch: {err}")
finish()

